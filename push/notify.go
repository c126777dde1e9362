package push

import (
	"context"
	"errors"
	"fmt"

	"github.com/fieldops/fieldops/internal/notify"
)

// ForNotify lets the notify service deliver through s, translating each outcome into
// the notify package's terms (the domain cannot import this package).
func ForNotify(s Sender) notify.Sender { return notifySender{s: s} }

type notifySender struct{ s Sender }

func (n notifySender) Name() string { return n.s.Name() }

func (n notifySender) Send(ctx context.Context, p notify.Push) (string, error) {
	id, err := n.s.Send(ctx, Message{
		Token: p.Token, Title: p.Title, Body: p.Body, Data: p.Data, CollapseKey: p.CollapseKey,
		Urgent: p.Urgent, ChannelID: p.ChannelID, TTL: p.TTL,
	})
	if err == nil {
		return id, nil
	}
	var retry *RetryError
	switch {
	case errors.Is(err, ErrDeadToken):
		return "", fmt.Errorf("%w: %w", notify.ErrDeadToken, err)
	case errors.Is(err, ErrRejected):
		return "", fmt.Errorf("%w: %w", notify.ErrRejected, err)
	case errors.As(err, &retry):
		return "", &notify.RetryError{After: retry.After, Err: err}
	}
	return "", err
}
