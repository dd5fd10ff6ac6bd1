package db_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/wm-go/wm/daemon/db"
)

// The manual's Db examples on its Persons table, with placeholders
// where the manual binds values.
func Example() {
	dir, _ := os.MkdirTemp("", "db-example-")
	defer os.RemoveAll(dir)
	db1, err := db.Open(db.Config{Name: "db1", Driver: db.SQLite, DSN: filepath.Join(dir, "db1.sqlite")})
	if err != nil {
		log.Fatal(err)
	}
	defer db1.Close()
	ctx := context.Background()
	db1.Exec(ctx, "CREATE TABLE Persons (ID INTEGER PRIMARY KEY, Firstname TEXT, Lastname TEXT, Sex TEXT, Age INTEGER)")
	for _, p := range [][]any{{"Ann", "Lee", "F", 31}, {"Bob", "Ray", "M", 13}, {"Cid", "Roe", "M", 40}} {
		db1.Exec(ctx, "INSERT INTO Persons (Firstname, Lastname, Sex, Age) VALUES (?, ?, ?, ?)", p...)
	}

	// 获取所有数据: every row
	rows, _ := db1.Query(ctx, "SELECT ID, Sex FROM Persons WHERE Sex = ?", "M")
	for _, r := range rows {
		fmt.Println("query:", r.Values)
	}
	// 获取一行数据: one row
	row, _ := db1.Row(ctx, "SELECT ID, Sex FROM Persons WHERE Sex = ?", "M")
	id, _ := row.Get("ID")
	fmt.Println("row: ID", id)
	// 获取一列数据: one column
	ids, _ := db1.Column(ctx, "SELECT ID FROM Persons WHERE Sex = ?", "M")
	fmt.Println("column:", ids)
	// 获取单个值: one value
	n, _ := db1.Single(ctx, "SELECT COUNT(*) FROM Persons WHERE Sex = ?", "M")
	fmt.Println("single:", n)

	// 插入, 更新, 删除: insert, update, delete
	res, _ := db1.Exec(ctx, "INSERT INTO Persons (Firstname, Lastname, Sex, Age) VALUES (?, ?, ?, ?)", "abc", "efg", "M", 13)
	insertID, _ := res.LastInsertId()
	fmt.Println("insert id:", insertID)
	res, _ = db1.Exec(ctx, "UPDATE Persons SET Sex = ? WHERE ID = ?", "F", 1)
	count, _ := res.RowsAffected()
	fmt.Println("updated:", count)
	res, _ = db1.Exec(ctx, "DELETE FROM Persons WHERE ID = ?", 9)
	count, _ = res.RowsAffected()
	fmt.Println("deleted:", count)
	// Output:
	// query: [2 M]
	// query: [3 M]
	// row: ID 2
	// column: [2 3]
	// single: 2
	// insert id: 4
	// updated: 1
	// deleted: 0
}
