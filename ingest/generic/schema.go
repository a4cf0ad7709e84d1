package generic

import (
	"embed"
	"net/http"
	"strings"

	"github.com/doraflow/doraflow/ingest"
)

//go:embed schema/deployment.schema.json schema/incident.schema.json
var schemaFS embed.FS

// schemaFiles maps the file names served under SchemaPath to their embedded
// JSON Schema (draft 2020-12) files.
var schemaFiles = map[string]string{
	"deployment.json": "schema/deployment.schema.json",
	"incident.json":   "schema/incident.schema.json",
}

// Schema returns the JSON Schema of a kind of document (KindDeployment or
// KindIncident).
func Schema(kind string) ([]byte, error) {
	name, ok := schemaFiles[kind+".json"]
	if !ok {
		return nil, errUnknownKind
	}
	return schemaFS.ReadFile(name)
}

// SchemaHandler serves the JSON Schemas of the two documents:
// GET /webhooks/generic/schema/deployment.json and incident.json, as
// application/schema+json. They need no credentials.
func SchemaHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			ingest.WriteError(w, http.StatusMethodNotAllowed, ingest.ReasonMethodNotAllowed, "only GET is allowed")
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, SchemaPath)
		file, known := schemaFiles[name]
		if !ok || !known {
			ingest.WriteError(w, http.StatusNotFound, "not_found", "schemas are "+SchemaPath+"deployment.json and "+SchemaPath+"incident.json")
			return
		}
		b, err := schemaFS.ReadFile(file)
		if err != nil {
			ingest.WriteError(w, http.StatusInternalServerError, "internal", "schema could not be read")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/schema+json")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	})
}
