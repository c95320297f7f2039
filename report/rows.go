package report

import (
	"context"

	"github.com/vigilhq/vigil"
)

// Rows computes the rows of a report of type typ, with parameters from
// ParseParams, over the events below sequence through, for a reader that
// shows them rather than writes a file (the console). emit gets each row's
// cells in Columns(typ) order; an error it returns stops the scan and is
// returned.
func Rows(ctx context.Context, src vigil.EventScanner, typ string, p Params, workspace, tenantScope string, through int64, emit func([]any) error) error {
	def, ok := definitions[typ]
	if !ok {
		return vigil.Invalid(vigil.ErrorDetail{Field: "type", Message: "unknown report type " + typ})
	}
	return def.run(ctx, src, vigil.Query{Workspace: workspace, TenantScope: tenantScope}, through, p, emit)
}
