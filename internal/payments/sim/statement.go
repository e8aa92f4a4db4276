package sim

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// WriteStatement writes kind k's statement for the business day of day's
// date (in the kind's time zone: Beijing for qr_wallet and unionpay, UTC
// otherwise) in the kind's format: the orders decided that day that
// succeeded, and for bank_transfer and cheque those that failed too.
func (s *Server) WriteStatement(w io.Writer, k channel.Kind, day time.Time) error {
	d, ok := s.dialects[k]
	if !ok {
		return fmt.Errorf("sim: statement: unknown kind %q", k)
	}
	y, m, dd := day.Date()
	from := time.Date(y, m, dd, 0, 0, 0, 0, d.loc)
	to := from.AddDate(0, 0, 1)
	s.mu.Lock()
	var orders []Order
	for _, o := range s.orders {
		if o.Kind != k || !o.Status.Final() || o.DecidedAt.Before(from) || !o.DecidedAt.Before(to) {
			continue
		}
		if o.Status == channel.Succeeded || d.listFailed {
			orders = append(orders, o.snapshot())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(orders, func(a, b Order) int {
		if c := a.DecidedAt.Compare(b.DecidedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if err := d.statement(w, from, orders); err != nil {
		return fmt.Errorf("sim: %s statement for %s: %w", k, from.Format(time.DateOnly), err)
	}
	return nil
}

// StatementName is the file name of kind k's statement for day, such as
// qr_wallet-2025-03-14.csv.
func (s *Server) StatementName(k channel.Kind, day time.Time) string {
	ext := "txt"
	if d, ok := s.dialects[k]; ok {
		ext = d.ext
	}
	return fmt.Sprintf("%s-%s.%s", k, day.Format(time.DateOnly), ext)
}

// serveStatement answers GET /{kind}/statement?date=YYYY-MM-DD.
func (s *Server) serveStatement(w http.ResponseWriter, r *http.Request, k channel.Kind) {
	day, err := time.Parse(time.DateOnly, r.URL.Query().Get("date"))
	if err != nil {
		http.Error(w, "date must be YYYY-MM-DD", http.StatusBadRequest)
		return
	}
	var b bytes.Buffer
	if err := s.WriteStatement(&b, k, day); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", s.StatementName(k, day)))
	_, _ = w.Write(b.Bytes())
}
