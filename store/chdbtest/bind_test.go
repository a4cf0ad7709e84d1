package chdbtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/metrics"
	"github.com/doraflow/doraflow/metrics/metricstest"
)

// quotedCatalog names a service and a team with the characters a stored
// catalog must keep: quotes, a backslash, non-ASCII.
func quotedCatalog() catalog.Catalog {
	c := metricstest.Catalog()
	c.Services = append([]catalog.Service{{Name: `o'brien\search`, Team: "équipe 'q'", Repos: []string{"acme/search"}}},
		c.Services...)
	return c
}

// catalogKey identifies a case's catalog.
func catalogKey(c catalog.Catalog) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// writeCatalogs stores every case's catalog in catalog_attribution on the
// 18.16 server (the dump then copies them to chDB) and returns their
// versions by catalogKey.
func writeCatalogs(ctx context.Context, t *testing.T, conn driver.Conn) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, p := range cases() {
		k := catalogKey(p.cat)
		if _, ok := out[k]; ok {
			continue
		}
		v, err := metrics.WriteCatalog(ctx, conn, p.cat)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if len(out) < 4 {
		t.Fatalf("%d distinct catalogs, want the scenario's, the owner change, the empty and the quoted one", len(out))
	}
	return out
}

// paramRe finds @name parameters as clickhouse-go does.
var paramRe = regexp.MustCompile(`@[a-zA-Z0-9_]+`)

// bind writes the values into the SQL text, for chDB, which has no
// client-side binding.
func bind(sql string, values map[string]any) (string, error) {
	var err error
	out := paramRe.ReplaceAllStringFunc(sql, func(m string) string {
		v, ok := values[m[1:]]
		if !ok {
			err = fmt.Errorf("unknown parameter %s", m)
			return m
		}
		lit, ferr := bindLiteral(v)
		if ferr != nil {
			err = ferr
		}
		return lit
	})
	return out, err
}

var quoteReplacer = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)

func quote(s string) string { return "'" + quoteReplacer.Replace(s) + "'" }

// bindLiteral formats a bound value: times as toDateTime('…', 'UTC'),
// strings quoted, string lists as arrays, numbers as they are.
func bindLiteral(v any) (string, error) {
	switch v := v.(type) {
	case time.Time:
		return fmt.Sprintf("toDateTime(%s, 'UTC')", quote(v.UTC().Format(time.DateTime))), nil
	case string:
		return quote(v), nil
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = quote(s)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case uint8:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	}
	return "", fmt.Errorf("no literal for a bound %T", v)
}

// valuesLiteral formats a stored value for INSERT … VALUES: DateTime as
// unix seconds, Date quoted, arrays element by element.
func valuesLiteral(typ string, v reflect.Value) (string, error) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "NULL", nil
		}
		v = v.Elem()
	}
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	if t, ok := v.Interface().(time.Time); ok {
		if strings.HasPrefix(typ, "Date") && !strings.HasPrefix(typ, "DateTime") {
			return quote(t.Format(time.DateOnly)), nil
		}
		return strconv.FormatInt(t.Unix(), 10), nil
	}
	switch v.Kind() {
	case reflect.String:
		return quote(v.String()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return canonFloat(v.Float()), nil
	case reflect.Bool:
		if v.Bool() {
			return "1", nil
		}
		return "0", nil
	case reflect.Slice, reflect.Array:
		elem := strings.TrimSuffix(strings.TrimPrefix(typ, "Array("), ")")
		parts := make([]string, v.Len())
		for i := range parts {
			s, err := valuesLiteral(elem, v.Index(i))
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return "", fmt.Errorf("no VALUES literal for %s (%s)", typ, v.Type())
}
