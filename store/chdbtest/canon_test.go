package chdbtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// scanRow scans the current row into values of the driver's own types.
func scanRow(t *testing.T, rows driver.Rows) []any {
	t.Helper()
	cts := rows.ColumnTypes()
	ptrs := make([]any, len(cts))
	for i, ct := range cts {
		ptrs[i] = reflect.New(ct.ScanType()).Interface()
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	vals := make([]any, len(ptrs))
	for i, p := range ptrs {
		vals[i] = reflect.ValueOf(p).Elem().Interface()
	}
	return vals
}

// result is a query's answer as comparable text.
type result struct {
	names, types []string
	rows         []string
}

func (r result) String() string {
	return fmt.Sprintf("columns %v\ntypes %v\n%s", r.names, r.types, strings.Join(r.rows, "\n"))
}

// comparable is the result with Nullable(T) read as T. A current engine
// makes some expressions Nullable that 18.16 does not (a scalar subquery);
// the values must still agree, and a NULL on one side only still differs.
func (r result) comparable() string {
	types := make([]string, len(r.types))
	for i, t := range r.types {
		types[i] = baseType(t)
	}
	return result{names: r.names, types: types, rows: r.rows}.String()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func canonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func baseType(typ string) string {
	for _, w := range []string{"Nullable(", "LowCardinality("} {
		if strings.HasPrefix(typ, w) {
			return baseType(strings.TrimSuffix(strings.TrimPrefix(typ, w), ")"))
		}
	}
	return typ
}

func isFloat(typ string) bool { return strings.HasPrefix(baseType(typ), "Float") }

func isDate(typ string) bool {
	b := baseType(typ)
	return strings.HasPrefix(b, "Date") && !strings.HasPrefix(b, "DateTime")
}

// canonGo renders a value scanned from 18.16.
func canonGo(typ string, v reflect.Value) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "NULL"
		}
		v = v.Elem()
	}
	if t, ok := v.Interface().(time.Time); ok {
		if isDate(typ) {
			return strconv.Quote(t.Format(time.DateOnly))
		}
		return strconv.Quote(t.Format(time.DateTime))
	}
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return canonFloat(v.Float())
	case reflect.Bool:
		if v.Bool() {
			return "1"
		}
		return "0"
	case reflect.Slice, reflect.Array:
		elem := strings.TrimSuffix(strings.TrimPrefix(baseType(typ), "Array("), ")")
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = canonGo(elem, v.Index(i))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("?%s:%v", v.Type(), v.Interface())
}

// canonJSON renders a value chDB wrote as JSON.
func canonJSON(typ string, v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case json.Number:
		if isFloat(typ) {
			f, err := v.Float64()
			if err != nil {
				return "?" + v.String()
			}
			return canonFloat(f)
		}
		return v.String()
	case string:
		if isFloat(typ) {
			return v // nan, inf, -inf
		}
		return strconv.Quote(v)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case []any:
		elem := strings.TrimSuffix(strings.TrimPrefix(baseType(typ), "Array("), ")")
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = canonJSON(elem, e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("?%T:%v", v, v)
}

// query1816 runs a query on the 18.16 server.
func query1816(ctx context.Context, conn driver.Conn, sql string, args ...any) (result, error) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	var r result
	r.names = rows.Columns()
	for _, ct := range rows.ColumnTypes() {
		r.types = append(r.types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		cts := rows.ColumnTypes()
		ptrs := make([]any, len(cts))
		for i, ct := range cts {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{}, err
		}
		cells := make([]string, len(ptrs))
		for i, p := range ptrs {
			cells[i] = canonGo(r.types[i], reflect.ValueOf(p).Elem())
		}
		r.rows = append(r.rows, "("+strings.Join(cells, ", ")+")")
	}
	return r, rows.Err()
}

// parseChDB reads a JSONCompactEachRowWithNamesAndTypes answer.
func parseChDB(out string) (result, error) {
	var r result
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	for i := 0; ; i++ {
		var row []any
		if err := dec.Decode(&row); err != nil {
			if err.Error() == "EOF" {
				break
			}
			return r, err
		}
		switch i {
		case 0, 1:
			for _, x := range row {
				s, _ := x.(string)
				if i == 0 {
					r.names = append(r.names, s)
				} else {
					r.types = append(r.types, s)
				}
			}
		default:
			if len(row) != len(r.types) {
				return r, fmt.Errorf("row of %d values, %d columns", len(row), len(r.types))
			}
			cells := make([]string, len(row))
			for j, x := range row {
				cells[j] = canonJSON(r.types[j], x)
			}
			r.rows = append(r.rows, "("+strings.Join(cells, ", ")+")")
		}
	}
	return r, nil
}

var orderedRe = regexp.MustCompile(`(?m)^ORDER BY `)

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}
