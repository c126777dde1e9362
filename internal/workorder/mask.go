package workorder

import "strings"

// MaskName keeps a person's first character and hides the rest behind a fixed "**",
// so the mask tells nothing of the name's length: 张三丰 → 张**.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) <= 1 {
		return "*"
	}
	return string(r[0]) + "**"
}

// MaskPhone keeps the first three and last four characters of a phone number and
// hides the middle (13812345678 → 138****5678); a short number keeps only its last two.
func MaskPhone(phone string) string {
	r := []rune(strings.TrimSpace(phone))
	if len(r) >= 8 {
		return string(r[:3]) + "****" + string(r[len(r)-4:])
	}
	if len(r) <= 2 {
		return "****"
	}
	return "****" + string(r[len(r)-2:])
}

// masked returns w with the reporter's personal data masked.
func masked(w *WorkOrder) *WorkOrder {
	out := *w
	if out.ReporterName != nil {
		m := MaskName(*out.ReporterName)
		out.ReporterName = &m
	}
	if out.ReporterPhone != nil {
		m := MaskPhone(*out.ReporterPhone)
		out.ReporterPhone = &m
	}
	out.ReporterMasked = true
	return &out
}

// piiFields names the personal data w holds.
func piiFields(w *WorkOrder) []string {
	var fields []string
	if w.ReporterName != nil {
		fields = append(fields, "reporter_name")
	}
	if w.ReporterPhone != nil {
		fields = append(fields, "reporter_phone")
	}
	return fields
}
