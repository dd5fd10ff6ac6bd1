// Package db is the small query layer of wm's database apps, after
// WorkerMan's Db class: named connections configured in a group's conf.d
// file (Db::instance('name')), and the query, row, column and single
// helpers, on database/sql with placeholders and a deadline on every
// call.
//
// It opens SQLite (modernc.org/sqlite, pure Go) and MySQL/MariaDB
// (github.com/go-sql-driver/mysql), both linked in by this package, and
// any other database/sql driver the binary links. A connection the
// server dropped is re-established before the next statement, without
// the app seeing an error: see docs/database.md for what is retried and
// why nothing else is.
//
// It imports database/sql, the two drivers and daemon/config (for
// file:line errors); the daemon itself never imports it.
package db
