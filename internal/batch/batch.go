// Package batch holds what the domain services' units of work share: an undo journal,
// so one failed change of many can be forgotten without a savepoint, and a cache of
// reference reads for the length of one unit.
package batch

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

// ErrUnbatched is what a batch answers for what it cannot do in memory (lists, rules,
// clean-up): the caller applies the change again outside a batch.
var ErrUnbatched = errors.New("not available in a batch")

// Journal records how to undo each write a unit of work keeps in memory. Several
// services' batches share one journal when they take part in the same unit.
type Journal struct{ undo []func() }

// Mark is a point Rollback returns to.
func (j *Journal) Mark() int { return len(j.undo) }

// Rollback undoes every write recorded since mark, the latest first.
func (j *Journal) Rollback(mark int) {
	for i := len(j.undo) - 1; i >= mark; i-- {
		j.undo[i]()
	}
	j.undo = j.undo[:mark]
}

// Forget drops the record of writes once they are written out.
func (j *Journal) Forget() { j.undo = nil }

// Append appends v to *list, to be dropped again by a rollback.
func Append[T any](j *Journal, list *[]T, v T) {
	*list = append(*list, v)
	n := len(*list) - 1
	j.undo = append(j.undo, func() { *list = (*list)[:n] })
}

// Set records m[k] = v, to be restored by a rollback.
func Set[K comparable, V any](j *Journal, m map[K]V, k K, v V) {
	old, had := m[k]
	m[k] = v
	j.undo = append(j.undo, func() {
		if had {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
}

// Cache keeps reference reads for one unit of work, or for several in one transaction.
// Keys name what they read, and services sharing a cache prefix them with their own
// name (a key read as two types would answer the zero value).
type Cache struct{ m map[string]cached }

type cached struct {
	v   any
	err error
}

// Once reads through read once per key; a not-found answer is kept too.
func Once[T any](c *Cache, key string, read func() (T, error)) (T, error) {
	if e, ok := c.m[key]; ok {
		v, _ := e.v.(T)
		return v, e.err
	}
	v, err := read()
	if err == nil || errors.Is(err, apperr.ErrNotFound) {
		if c.m == nil {
			c.m = map[string]cached{}
		}
		c.m[key] = cached{v: v, err: err}
	}
	return v, err
}

// NoTx runs a service's transactions inside the caller's: a unit of work undoes a
// failed change through its journal, not a savepoint.
type NoTx struct{}

// InTx runs fn.
func (NoTx) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }

// Lookup returns a copy of m[id], reading it through read the first time: a record
// known not to exist (a nil entry) or not found is apperr.NotFound(what).
func Lookup[T any](m map[uuid.UUID]*T, id uuid.UUID, what string, read func() (*T, error)) (*T, error) {
	v, ok := m[id]
	if !ok {
		var err error
		v, err = read()
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			v = nil
		case err != nil:
			return nil, err
		}
		m[id] = v
	}
	if v == nil {
		return nil, apperr.NotFound(what)
	}
	return Copy(v), nil
}

// Copy returns a copy of *v (nil for nil).
func Copy[T any](v *T) *T {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

// Rounds splits writes so that no record appears twice in one round, keeping order:
// one statement per round writes a record changed twice in the same unit twice.
func Rounds[T any](xs []T, id func(T) uuid.UUID) [][]T {
	var out [][]T
	seen := map[uuid.UUID]int{}
	for _, x := range xs {
		k := id(x)
		n := seen[k]
		seen[k] = n + 1
		if n == len(out) {
			out = append(out, nil)
		}
		out[n] = append(out[n], x)
	}
	return out
}

// Preload reads, with one call of load, the records among ids that m does not hold yet
// into m; absent are ids the caller knows no row has, and ids load does not return are
// known not to exist too.
func Preload[T any](m map[uuid.UUID]*T, ids, absent []uuid.UUID, load func([]uuid.UUID) ([]T, error), id func(*T) uuid.UUID) error {
	for _, k := range absent {
		m[k] = nil
	}
	var want []uuid.UUID
	for _, k := range ids {
		if _, ok := m[k]; !ok {
			want = append(want, k)
		}
	}
	if len(want) == 0 {
		return nil
	}
	found, err := load(want)
	if err != nil {
		return err
	}
	for _, k := range want {
		m[k] = nil
	}
	for n := range found {
		m[id(&found[n])] = &found[n]
	}
	return nil
}
