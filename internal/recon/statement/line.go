package statement

import (
	"time"

	"github.com/suanpan/suanpan/internal/payments/channel"
)

// Line is one movement a statement reports, in minor units of Asset.
type Line struct {
	// No is the line's position in the file (1-based: the record number
	// for CSV, the entry number for camt.053), for error messages and
	// for the operator to find it again.
	No int `json:"no"`
	// OrderID is Suanpan's order ID as the channel echoes it (camt.053:
	// EndToEndId), or a batch ID when one line settles several orders;
	// "" when the statement does not carry it.
	OrderID string `json:"order_id,omitempty"`
	// ChannelRef is the channel's own reference for the movement.
	ChannelRef string            `json:"channel_ref,omitempty"`
	Direction  channel.Direction `json:"direction"`
	Amount     int64             `json:"amount"`
	Fee        int64             `json:"fee"`
	Asset      string            `json:"asset"`
	// Status is channel.Succeeded or channel.Failed.
	Status channel.Status `json:"status"`
	At     time.Time      `json:"at"`
	// Party identifies the customer side (account number, card, payer
	// ID) where the statement gives it: matching without a reference
	// compares it.
	Party string `json:"party,omitempty"`
}
