package console

import (
	"net/http"
	"strconv"

	"github.com/vigilhq/vigil"
)

type ledgerData struct {
	Checkpoint  *vigil.Checkpoint
	Run         *vigil.VerificationRun
	VerifierKey string
}

// ledgerPage shows the latest signed checkpoint and the latest full
// verification with every break it found. Checkpoints reveal no event
// (the API serves them unrecorded); the page view is recorded all the
// same, with the verification it shows.
func (c *Console) ledgerPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.showLedger(w, r, p, "")
}

func (c *Console) showLedger(w http.ResponseWriter, r *http.Request, p *principal, notice string) error {
	d := ledgerData{VerifierKey: c.cfg.VerifierKey}
	err := c.audited(r, p, ActionPageViewed, map[string]string{"page": "ledger"}, func() error {
		cp, err := c.cfg.Ledger.Checkpoint(r.Context(), c.cfg.Workspace, -1)
		if err == nil {
			d.Checkpoint = &cp
		} else if vigil.ErrorCode(err) != vigil.ENOTFOUND {
			return err
		}
		if vl, ok := c.cfg.Ledger.(vigil.VerificationLog); ok {
			run, err := vl.LastVerification(r.Context(), c.cfg.Workspace)
			if err == nil {
				d.Run = &run
			} else if vigil.ErrorCode(err) != vigil.ENOTFOUND {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	pd := c.page(p, "Ledger status", "ledger", d)
	pd.Notice = notice
	c.pages.render(w, http.StatusOK, "ledger", pd)
	return nil
}

// verifyNow runs a full verification (recorded like the API's) and shows
// its outcome.
func (c *Console) verifyNow(w http.ResponseWriter, r *http.Request, p *principal) error {
	var rep vigil.VerifyReport
	err := c.audited(r, p, actionLedgerVerify, nil, func() error {
		var err error
		rep, err = c.cfg.Ledger.Verify(r.Context(), c.cfg.Workspace, vigil.VerifyOptions{})
		return err
	})
	if err != nil {
		return err
	}
	notice := "Verified " + strconv.FormatInt(rep.EventsChecked, 10) + " events: no break found."
	if !rep.Valid {
		notice = "Verified " + strconv.FormatInt(rep.EventsChecked, 10) + " events: " + strconv.Itoa(len(rep.Breaks)) + " breaks found."
	}
	return c.showLedger(w, r, p, notice)
}
