package websocket

import "unsafe"

func unsafeSizeofConn() uintptr { return unsafe.Sizeof(conn{}) }
