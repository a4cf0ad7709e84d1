package main

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/doraflow/doraflow/catalog"
	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/simulate"
)

// TestDemoConfigIsReusable: the file the demo writes loads as a
// configuration with the demo's catalog and database, so that `doractl
// report quarterly -config FILE` attributes the demo's services to teams.
func TestDemoConfigIsReusable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.yaml")
	t.Setenv("DORA_DEMO_CONFIG", path)
	cfg := config.Default()
	cfg.ClickHouse.Database = "dora_demo"
	cfg.Metrics.TimeZone = "Europe/Berlin"
	for _, r := range simulate.DemoRepos {
		cfg.Catalog.Services = append(cfg.Catalog.Services, catalog.Service{Name: r.Service, Team: r.Team, Repos: []string{r.Repo}})
	}
	got, err := writeDemoConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got != path {
		t.Fatalf("wrote %s, want %s", got, path)
	}
	t.Setenv("DORA_CLICKHOUSE_DATABASE", "")
	loaded, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded.Catalog.Services, cfg.Catalog.Services) {
		t.Errorf("catalog %+v, want %+v", loaded.Catalog.Services, cfg.Catalog.Services)
	}
	if loaded.ClickHouse.Database != "dora_demo" || loaded.Metrics.TimeZone != "Europe/Berlin" {
		t.Errorf("database %q, time zone %q", loaded.ClickHouse.Database, loaded.Metrics.TimeZone)
	}
	if len(loaded.Catalog.Services) != len(simulate.DemoRepos) || loaded.Catalog.Services[0].Team == "" {
		t.Errorf("services %+v", loaded.Catalog.Services)
	}
}
