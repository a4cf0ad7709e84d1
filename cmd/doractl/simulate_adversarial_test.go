package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/doraflow/doraflow/config"
	"github.com/doraflow/doraflow/simulate"
)

// TestSimulateAdversarialFiles: `doractl simulate -adversarial` writes the
// organisation's deliveries, its truth, and a configuration fragment that
// loads with its catalog and the production environments it needs.
func TestSimulateAdversarialFiles(t *testing.T) {
	dir := t.TempDir()
	out, truth, cat := filepath.Join(dir, "d.jsonl"), filepath.Join(dir, "truth.json"), filepath.Join(dir, "catalog.yaml")
	if err := simulateCmd([]string{"-adversarial", "-seed", "2", "-tz", "Europe/Berlin", "-out", out, "-truth", truth, "-catalog", cat}); err != nil {
		t.Fatal(err)
	}
	adv := simulate.GenerateAdversary(2)

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		lines++
	}
	if want := len(adv.Deliveries()); lines != want {
		t.Errorf("%d deliveries written, want %d", lines, want)
	}

	raw, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	var tr simulate.AdversaryTruth
	if err := json.Unmarshal(raw, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.TimeZone != "Europe/Berlin" || len(tr.Services) != len(adv.Services) || tr.Organization.Deployments == 0 {
		t.Errorf("truth in %s with %d services and %d deployments", tr.TimeZone, len(tr.Services), tr.Organization.Deployments)
	}

	cfg, err := config.Load(cat)
	if err != nil {
		t.Fatal(err)
	}
	// Empty and missing lists load alike.
	if fmt.Sprintf("%+v", cfg.Catalog.Services) != fmt.Sprintf("%+v", adv.Catalog().Services) {
		t.Errorf("catalog %+v, want %+v", cfg.Catalog.Services, adv.Catalog().Services)
	}
	if !reflect.DeepEqual(cfg.Metrics.ProductionEnvironments, simulate.AdversaryProductionEnvironments) {
		t.Errorf("production environments %q, want %q", cfg.Metrics.ProductionEnvironments, simulate.AdversaryProductionEnvironments)
	}
}
