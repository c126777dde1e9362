package notify

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

// Item is one inbox entry as the app shows it: title and body in one locale.
type Item struct {
	ID         uuid.UUID         `json:"id"`
	ProjectID  *uuid.UUID        `json:"project_id"`
	Kind       string            `json:"kind"`
	RecordType string            `json:"record_type"`
	RecordID   uuid.UUID         `json:"record_id"`
	Title      string            `json:"title"`
	Body       string            `json:"body"`
	Data       map[string]string `json:"data"`
	Urgent     bool              `json:"urgent"`
	ReadAt     *time.Time        `json:"read_at"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Entry is an inbox row as stored, in both languages.
type Entry struct {
	Stored
	ReadAt    *time.Time
	CreatedAt time.Time
}

// InboxQuery asks for a page of a user's inbox, newest first: After keeps only what is
// newer than a notification the app already has (polling), Before continues a page.
type InboxQuery struct {
	After      uuid.UUID // zero: no lower bound
	Before     uuid.UUID // zero: from the newest
	Limit      int
	UnreadOnly bool
}

// InboxPage is one page of the inbox with the count of unread notifications (the app's
// badge).
type InboxPage struct {
	page.Page[Item]
	UnreadCount int `json:"unread_count"`
}

// ReadResult says how many notifications a mark-read changed and how many stay unread.
type ReadResult struct {
	Marked      int `json:"marked"`
	UnreadCount int `json:"unread_count"`
}

// InboxStore reads and marks a user's inbox.
type InboxStore interface {
	// ListInbox returns up to q.Limit+1 of the user's entries, newest first.
	ListInbox(ctx context.Context, userID uuid.UUID, q InboxQuery) ([]Entry, error)
	// CountUnread counts the user's unread entries.
	CountUnread(ctx context.Context, userID uuid.UUID) (int, error)
	// MarkRead marks the user's unread entries among ids, or (upTo set) every one up
	// to and including upTo, as read at at; it returns how many changed.
	MarkRead(ctx context.Context, userID uuid.UUID, ids []uuid.UUID, upTo *uuid.UUID, at time.Time) (int, error)
	// UserLocale is the user's preferred locale.
	UserLocale(ctx context.Context, userID uuid.UUID) (string, error)
}

// ListQuery is the inbox request as the app sends it: cursors and a locale, all optional.
type ListQuery struct {
	After      uuid.UUID
	Page       page.Request // After of the page is the "before" bound of the next page
	UnreadOnly bool
	Locale     string // empty: the user's own
}

// MaxReadIDs bounds one mark-read by ids.
const MaxReadIDs = 500

// Inbox lists the caller's own notifications, newest first, in their locale (or the
// one asked for). An app polls with After set to the newest id it holds.
func (s *Service) Inbox(ctx context.Context, q ListQuery) (*InboxPage, error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if q.Locale != "" && !slices.Contains(Locales, q.Locale) {
		return nil, apperr.Invalid("unknown locale", apperr.FieldError{Field: "locale", Rule: "oneof", Message: "must be one of: zh-CN, en"})
	}
	locale := q.Locale
	if locale == "" {
		if locale, err = s.store.UserLocale(ctx, p.UserID); err != nil {
			return nil, err
		}
	}
	rows, err := s.store.ListInbox(ctx, p.UserID, InboxQuery{After: q.After, Before: q.Page.After, Limit: q.Page.Limit, UnreadOnly: q.UnreadOnly})
	if err != nil {
		return nil, err
	}
	unread, err := s.store.CountUnread(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	items := make([]Item, len(rows))
	for i := range rows {
		items[i] = rows[i].localized(locale)
	}
	return &InboxPage{Page: page.Build(items, q.Page.Limit, func(it Item) uuid.UUID { return it.ID }), UnreadCount: unread}, nil
}

// MarkRead marks the caller's own notifications read: the ones named, or every one up
// to and including upTo. Ids of other users' notifications change nothing.
func (s *Service) MarkRead(ctx context.Context, ids []uuid.UUID, upTo *uuid.UUID) (*ReadResult, error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case len(ids) == 0 && upTo == nil:
		return nil, apperr.Invalid("name the notifications to mark read",
			apperr.FieldError{Field: "ids", Rule: "required_without", Message: "is required without up_to"})
	case len(ids) > 0 && upTo != nil:
		return nil, apperr.Invalid("send ids or up_to, not both",
			apperr.FieldError{Field: "up_to", Rule: "excluded_with", Message: "must not be sent with ids"})
	case len(ids) > MaxReadIDs:
		return nil, apperr.Invalid("too many ids", apperr.FieldError{Field: "ids", Rule: "max", Message: "must have at most 500 items"})
	}
	res := &ReadResult{}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if res.Marked, err = s.store.MarkRead(ctx, p.UserID, ids, upTo, s.now()); err != nil {
			return err
		}
		res.UnreadCount, err = s.store.CountUnread(ctx, p.UserID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (e *Entry) localized(locale string) Item {
	it := Item{ID: e.ID, Kind: e.Kind, RecordType: e.RecordType, RecordID: e.RecordID, Data: e.Data,
		Urgent: e.Urgent, ReadAt: e.ReadAt, CreatedAt: e.CreatedAt}
	if e.ProjectID != uuid.Nil {
		pid := e.ProjectID
		it.ProjectID = &pid
	}
	it.Title, it.Body = e.text(locale)
	if it.Data == nil {
		it.Data = map[string]string{}
	}
	return it
}

// text is the title and body in locale; a missing translation falls back to the other.
func (n *Notification) text(locale string) (title, body string) {
	if locale == LocaleEN {
		return orElse(n.TitleEN, n.TitleZH), orElse(n.BodyEN, n.BodyZH)
	}
	return orElse(n.TitleZH, n.TitleEN), orElse(n.BodyZH, n.BodyEN)
}

func orElse(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
