package queue

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/fieldops/fieldops/internal/sla"
)

// SLAAlarmWorker fires the warnings, breaches and escalations of SLA clocks. The
// service re-checks the locked clock row, so a job that runs twice (a retry after a
// crash between the commit and River marking it done) changes nothing the second time.
type SLAAlarmWorker struct {
	river.WorkerDefaults[sla.AlarmJob]
	SLA *sla.Service
}

// Timeout bounds one alarm: a few statements in one transaction.
func (w *SLAAlarmWorker) Timeout(*river.Job[sla.AlarmJob]) time.Duration { return 30 * time.Second }

// Work fires the alarm; a failure is retried with River's backoff.
func (w *SLAAlarmWorker) Work(ctx context.Context, job *river.Job[sla.AlarmJob]) error {
	return w.SLA.Fire(ctx, job.Args)
}
