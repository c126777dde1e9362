package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ErrNotEmpty says the database already holds an organization; the demo seed writes
// only into an empty one.
var ErrNotEmpty = errors.New("database is not empty")

// DemoPassword is the password of every demo user, created only by `fieldops seed --demo`.
const DemoPassword = "demo-password"

// DemoUser is one seeded login and its role in Demo Garden.
type DemoUser struct {
	Login, Name, Role string
	OrgAdmin          bool
}

// DemoUsers are the seeded logins, one per role.
var DemoUsers = []DemoUser{
	{"admin", "Demo Admin", "admin", true},
	{"supervisor", "Demo Supervisor", "supervisor", false},
	{"ambassador", "Demo Ambassador", "ambassador", false},
	{"engineer", "Demo Engineer", "engineer", false},
	{"guard", "Demo Guard", "guard", false},
}

// DemoSummary reports what the seed wrote.
type DemoSummary struct {
	OrganizationID, ProjectID uuid.UUID
	Buildings, Units, Users   int
}

type demoUnitType struct {
	code, name string
	rooms      [][2]string
}

var demoUnitTypes = []demoUnitType{
	{"A2", "Two bedrooms (89 m²)", [][2]string{{"living", "Living room"}, {"kitchen", "Kitchen"}, {"master", "Master bedroom"}, {"bedroom2", "Second bedroom"}, {"bath", "Bathroom"}, {"balcony", "Balcony"}}},
	{"B3", "Three bedrooms (118 m²)", [][2]string{{"living", "Living room"}, {"dining", "Dining room"}, {"kitchen", "Kitchen"}, {"master", "Master bedroom"}, {"bedroom2", "Second bedroom"}, {"bedroom3", "Third bedroom"}, {"bath", "Bathroom"}, {"ensuite", "En-suite bathroom"}, {"balcony", "Balcony"}}},
}

// SeedDemo writes the Demo Garden project: 2 buildings × 10 floors × 4 units, two unit
// types with rooms, zones, and one user per role with passwordHash as their password.
func (db *DB) SeedDemo(ctx context.Context, passwordHash string) (DemoSummary, error) {
	var s DemoSummary
	err := db.InTx(ctx, func(ctx context.Context) error {
		tx := db.conn(ctx)
		// Serialise concurrent seeds (two `make run` at once) on one lock.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(7243102)`).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM organizations`).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrNotEmpty
		}
		s.OrganizationID, s.ProjectID = newID(), newID()
		exec := func(sql string, args ...any) error { return tx.Exec(sql, args...).Error }
		if err := exec(`INSERT INTO organizations (id, name) VALUES (?, ?)`, s.OrganizationID, "Demo Property Group"); err != nil {
			return err
		}
		if err := exec(`INSERT INTO projects (id, organization_id, code, name, city, timezone) VALUES (?, ?, 'DEMO', 'Demo Garden', 'Hangzhou', 'Asia/Shanghai')`, s.ProjectID, s.OrganizationID); err != nil {
			return err
		}
		typeIDs := make([]uuid.UUID, len(demoUnitTypes))
		for i, ut := range demoUnitTypes {
			typeIDs[i] = newID()
			if err := exec(`INSERT INTO unit_types (id, project_id, code, name) VALUES (?, ?, ?, ?)`, typeIDs[i], s.ProjectID, ut.code, ut.name); err != nil {
				return err
			}
			for pos, r := range ut.rooms {
				if err := exec(`INSERT INTO unit_type_rooms (id, unit_type_id, code, name, position) VALUES (?, ?, ?, ?, ?)`, newID(), typeIDs[i], r[0], r[1], pos); err != nil {
					return err
				}
			}
		}
		for b := 1; b <= 2; b++ {
			bid := newID()
			if err := exec(`INSERT INTO buildings (id, project_id, code, name, floors) VALUES (?, ?, ?, ?, 10)`, bid, s.ProjectID, fmt.Sprintf("B%d", b), fmt.Sprintf("Building %d", b)); err != nil {
				return err
			}
			s.Buildings++
			for floor := 1; floor <= 10; floor++ {
				for u := 1; u <= 4; u++ {
					// Units 1 and 4 are the corner three-bedroom flats.
					ut := typeIDs[0]
					if u == 1 || u == 4 {
						ut = typeIDs[1]
					}
					if err := exec(`INSERT INTO units (id, project_id, building_id, unit_type_id, number, floor) VALUES (?, ?, ?, ?, ?, ?)`,
						newID(), s.ProjectID, bid, ut, fmt.Sprintf("%d%02d", floor, u), floor); err != nil {
						return err
					}
					s.Units++
				}
			}
		}
		for _, z := range [][3]string{{"SALES", "Sales centre", "sales"}, {"GATE-N", "North gate", "perimeter"}, {"GARDEN", "Central garden", "common"}, {"P1", "Underground car park", "parking"}, {"SITE", "Construction site", "site"}} {
			if err := exec(`INSERT INTO zones (id, project_id, code, name, kind) VALUES (?, ?, ?, ?, ?)`, newID(), s.ProjectID, z[0], z[1], z[2]); err != nil {
				return err
			}
		}
		for _, u := range DemoUsers {
			uid := newID()
			if err := exec(`INSERT INTO users (id, organization_id, display_name, username, password_hash, org_admin, locale) VALUES (?, ?, ?, ?, ?, ?, 'zh-CN')`,
				uid, s.OrganizationID, u.Name, u.Login, passwordHash, u.OrgAdmin); err != nil {
				return err
			}
			if err := exec(`INSERT INTO project_members (project_id, user_id, role) VALUES (?, ?, ?)`, s.ProjectID, uid, u.Role); err != nil {
				return err
			}
			s.Users++
		}
		return nil
	})
	return s, err
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
