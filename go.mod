module github.com/wm-go/wm

go 1.26.0

require (
	github.com/hashicorp/yamux v0.1.2
	github.com/mattn/go-shellwords v1.0.16
	golang.org/x/sys v0.49.0
)
