package sla

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// The work order events SLA targets are measured between. A policy's target names two
// of them ("from" starts the clock, "to" stops it, met or late).
const (
	EventReported  = "reported"  // the customer reported it (the work order's reported_at)
	EventCreated   = "created"   // the work order was created
	EventAssigned  = "assigned"  // it got (or changed) its owner
	EventAccepted  = "accepted"  // the owner took it on
	EventContacted = "contacted" // the owner contacted the customer
	EventOnSite    = "on_site"   // the engineer arrived
	EventFeedback  = "feedback"  // the customer was told the outcome
	EventResolved  = "resolved"  // the work is done
	EventConfirmed = "confirmed" // the customer confirmed (a call-back)
	EventClosed    = "closed"
	// Lifecycle events that are no target's end but change its clocks.
	EventCancelled       = "cancelled"        // every running clock is cancelled
	EventReopened        = "reopened"         // targets ending at resolved/confirmed/closed run again
	EventWaitingCustomer = "waiting_customer" // running clocks pause
	EventCustomerBack    = "customer_back"    // paused clocks resume
)

// TargetEvents are the events a policy's target may start or stop at.
var TargetEvents = []string{EventReported, EventCreated, EventAssigned, EventAccepted, EventContacted,
	EventOnSite, EventFeedback, EventResolved, EventConfirmed, EventClosed}

// Event is a change of a work order that SLA clocks react to. The work order service
// sends it inside the transaction of the change, so clocks and their scheduled jobs
// commit exactly when the change does.
type Event struct {
	WorkOrderID uuid.UUID
	ProjectID   uuid.UUID
	WorkType    string
	Priority    string
	Name        string    // one of the Event… constants
	At          time.Time // server time of the change (the customer's report time for EventReported)
}

// Observer reacts to work order events. The SLA service implements it; the work order
// service depends only on this.
type Observer interface {
	// Observe handles the events of one change in order (creating a work order sends
	// reported then created, say).
	Observe(ctx context.Context, events ...Event) error
}
