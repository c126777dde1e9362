package push

import (
	"context"
	"log/slog"
)

// Log is the sender used without FCM credentials (development, `make run`): it writes
// each message to the log and reports it delivered.
type Log struct{ Logger *slog.Logger }

// Name implements Sender.
func (Log) Name() string { return "log" }

// Send implements Sender.
func (l Log) Send(ctx context.Context, m Message) (string, error) {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	token := m.Token
	if len(token) > 8 {
		token = token[:8] + "…" // a token is a credential to reach the phone
	}
	log.LogAttrs(ctx, slog.LevelInfo, "push (log sender)",
		slog.String("token", token), slog.String("title", m.Title), slog.String("body", m.Body),
		slog.Any("data", m.Data), slog.String("collapse_key", m.CollapseKey), slog.Bool("urgent", m.Urgent))
	return "log", nil
}
