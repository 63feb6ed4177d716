package bot

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/backend/internal/problem"
)

// Limits of a flow.
const (
	MaxSteps       = 200
	MaxTextChars   = 2000
	MaxNameChars   = 100
	MaxOptions     = 10
	MaxCases       = 20
	MaxLabelChars  = 100
	MaxProperties  = 30
	MaxAnswerChars = 1000
)

var (
	stepID       = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)
	propertyName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// Refs tells whether users and teams exist in the bot's account.
type Refs interface {
	User(id int64) bool
	Team(id int64) bool
}

// edge is one "go to" of a step, with the field that names it.
type edge struct {
	from  int
	to    string
	field string
}

// Validate checks the flow: every field of every step, every "go to"
// naming a step that exists, every step reachable from Start, and no loop
// the bot could run round without stopping at a question. Errors name the
// field, e.g. "steps[3].cases[0].next".
func (f *Flow) Validate(r Refs) problem.Errors {
	var e problem.Errors
	if len(f.Steps) == 0 {
		e.Add("steps", "must hold at least one step")
		return e
	}
	if len(f.Steps) > MaxSteps {
		e.Add("steps", "may hold at most "+strconv.Itoa(MaxSteps)+" steps")
		return e
	}
	index := map[string]int{}
	for i, s := range f.Steps {
		p := at(i)
		switch {
		case !stepID.MatchString(s.ID):
			e.Add(p+".id", "must be 1 to 40 lower-case letters, digits, '_' or '-'")
		case has(index, s.ID):
			e.Add(p+".id", "is already the id of steps["+strconv.Itoa(index[s.ID])+"]")
		default:
			index[s.ID] = i
		}
	}
	var edges []edge
	target := func(i int, field, id string, required bool) {
		switch {
		case id == "" && required:
			e.Add(at(i)+"."+field, "must name the step that comes next")
		case id == "":
		case !has(index, id):
			e.Add(at(i)+"."+field, "names no step: there is no step with id \""+id+"\"")
		default:
			edges = append(edges, edge{i, id, at(i) + "." + field})
		}
	}
	for i := range f.Steps {
		f.validateStep(&e, i, index, r, target)
	}
	switch {
	case f.Start == "":
		e.Add("start", "must name the first step")
	case !has(index, f.Start):
		e.Add("start", "names no step: there is no step with id \""+f.Start+"\"")
	default:
		f.checkGraph(&e, index, edges)
	}
	return e
}

func (f *Flow) validateStep(e *problem.Errors, i int, index map[string]int, r Refs, target func(int, string, string, bool)) {
	s := &f.Steps[i]
	p := at(i)
	text := func(required bool) {
		switch n := utf8.RuneCountInString(s.Text); {
		case required && strings.TrimSpace(s.Text) == "":
			e.Add(p+".text", "must say something")
		case n > MaxTextChars:
			e.Add(p+".text", "must be at most "+strconv.Itoa(MaxTextChars)+" characters")
		}
	}
	noNext := func() {
		if s.Next != "" {
			e.Add(p+".next", "a "+s.Type+" step ends the flow; it has no next step")
		}
	}
	switch s.Type {
	case TypeMessage:
		text(true)
		target(i, "next", s.Next, true)
	case TypeQuestion:
		text(true)
		f.validateQuestion(e, p, s)
		target(i, "next", s.Next, true)
	case TypeBranch:
		q := -1
		if j, ok := index[s.On]; !ok {
			e.Add(p+".on", "must name a question step whose answer the branch tests")
		} else if f.Steps[j].Type != TypeQuestion {
			e.Add(p+".on", "names a "+f.Steps[j].Type+" step; a branch tests the answer to a question")
		} else {
			q = j
		}
		switch {
		case len(s.Cases) == 0:
			e.Add(p+".cases", "must hold at least one case")
		case len(s.Cases) > MaxCases:
			e.Add(p+".cases", "may hold at most "+strconv.Itoa(MaxCases)+" cases")
		}
		for k, c := range s.Cases {
			cp := p + ".cases[" + strconv.Itoa(k) + "]"
			if q >= 0 {
				validateCase(e, cp, c, &f.Steps[q])
			}
			target(i, "cases["+strconv.Itoa(k)+"].next", c.Next, true)
		}
		target(i, "default", s.Default, true)
	case TypeHandover:
		text(false)
		noNext()
		switch {
		case s.UserID != 0 && s.TeamID != 0:
			e.Add(p+".team_id", "give user_id or team_id, not both")
		case s.UserID < 0 || s.UserID > 0 && !r.User(s.UserID):
			e.Add(p+".user_id", "names no user of this account")
		case s.TeamID < 0 || s.TeamID > 0 && !r.Team(s.TeamID):
			e.Add(p+".team_id", "names no team of this account")
		}
	case TypeCreateTicket:
		if n := utf8.RuneCountInString(s.Subject); n > 200 {
			e.Add(p+".subject", "must be at most 200 characters")
		}
		if len(s.Properties) > MaxProperties {
			e.Add(p+".properties", "may hold at most "+strconv.Itoa(MaxProperties)+" properties")
		}
		for k, v := range s.Properties {
			if !propertyName.MatchString(k) {
				e.Add(p+".properties."+k, "property names are lower-case letters, digits and '_', starting with a letter")
			} else if utf8.RuneCountInString(v) > MaxTextChars {
				e.Add(p+".properties."+k, "must be at most "+strconv.Itoa(MaxTextChars)+" characters")
			}
		}
		target(i, "next", s.Next, true)
	case TypeEnd:
		text(false)
		noNext()
	case "":
		e.Add(p+".type", "is required: "+typeList)
	default:
		e.Add(p+".type", "must be one of "+typeList)
	}
}

const typeList = "message, question, branch, handover, create_ticket, end"

func (f *Flow) validateQuestion(e *problem.Errors, p string, s *FlowStep) {
	switch s.Input {
	case InputText, InputEmail, InputNumber, InputQuickReplies:
	case "":
		e.Add(p+".input", "is required: text, quick_replies, email or number")
	default:
		e.Add(p+".input", "must be text, quick_replies, email or number")
	}
	if s.Input == InputQuickReplies {
		if len(s.Options) < 2 || len(s.Options) > MaxOptions {
			e.Add(p+".options", "must hold 2 to "+strconv.Itoa(MaxOptions)+" quick replies")
		}
		seen := map[string]bool{}
		for k, o := range s.Options {
			op := p + ".options[" + strconv.Itoa(k) + "]"
			if strings.TrimSpace(o.Label) == "" || utf8.RuneCountInString(o.Label) > MaxLabelChars {
				e.Add(op+".label", "must be 1 to "+strconv.Itoa(MaxLabelChars)+" characters")
			}
			if strings.TrimSpace(o.Value) == "" || utf8.RuneCountInString(o.Value) > MaxLabelChars {
				e.Add(op+".value", "must be 1 to "+strconv.Itoa(MaxLabelChars)+" characters")
			} else if seen[strings.ToLower(o.Value)] {
				e.Add(op+".value", "repeats another quick reply's value")
			}
			seen[strings.ToLower(o.Value)] = true
		}
	} else if len(s.Options) > 0 {
		e.Add(p+".options", "only a quick_replies question has options")
	}
	if s.Input != InputNumber && (s.Min != nil || s.Max != nil) {
		e.Add(p+".min", "only a number question has min and max")
	}
	if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
		e.Add(p+".max", "must not be below min")
	}
	if utf8.RuneCountInString(s.Retry) > MaxTextChars {
		e.Add(p+".retry", "must be at most "+strconv.Itoa(MaxTextChars)+" characters")
	}
	if s.SaveTo != nil {
		if s.SaveTo.Object != ObjectContact && s.SaveTo.Object != ObjectTicket {
			e.Add(p+".save_to.object", "must be contact or ticket")
		}
		if !propertyName.MatchString(s.SaveTo.Name) {
			e.Add(p+".save_to.name", "must be a property name: lower-case letters, digits and '_', starting with a letter")
		}
	}
}

func validateCase(e *problem.Errors, p string, c Case, q *FlowStep) {
	switch c.Op {
	case OpEquals, OpNotEquals:
		if q.Input == InputQuickReplies && !hasOption(q, c.Value) {
			e.Add(p+".value", "is not the value of one of the quick replies of \""+q.ID+"\"")
		} else if q.Input == InputNumber && !isNumber(c.Value) {
			e.Add(p+".value", "must be a number: \""+q.ID+"\" asks for one")
		}
	case OpContains:
		if q.Input == InputQuickReplies || q.Input == InputNumber {
			e.Add(p+".op", "contains tests text; use equals for a "+q.Input+" question")
		} else if c.Value == "" {
			e.Add(p+".value", "must not be empty")
		}
	case OpGreaterThan, OpLessThan:
		if q.Input != InputNumber {
			e.Add(p+".op", c.Op+" compares numbers; \""+q.ID+"\" is not a number question")
		} else if !isNumber(c.Value) {
			e.Add(p+".value", "must be a number")
		}
	default:
		e.Add(p+".op", "must be one of equals, not_equals, contains, greater_than, less_than")
	}
}

// checkGraph reports steps the start cannot reach and loops that pass no
// question (the bot would talk forever without the visitor saying a word).
func (f *Flow) checkGraph(e *problem.Errors, index map[string]int, edges []edge) {
	out := make([][]edge, len(f.Steps))
	for _, ed := range edges {
		out[ed.from] = append(out[ed.from], ed)
	}
	seen := make([]bool, len(f.Steps))
	stack := []int{index[f.Start]}
	seen[stack[0]] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, ed := range out[i] {
			if j := index[ed.to]; !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	for i, ok := range seen {
		if !ok && f.Steps[i].ID != "" && index[f.Steps[i].ID] == i {
			e.Add(at(i)+".id", "cannot be reached from the start step \""+f.Start+"\"")
		}
	}
	// Depth-first search over the steps that do not wait for the visitor;
	// an edge back to a step still on the path closes a silent loop.
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(f.Steps))
	var visit func(i int)
	visit = func(i int) {
		color[i] = grey
		for _, ed := range out[i] {
			j := index[ed.to]
			if f.Steps[j].Type == TypeQuestion {
				continue
			}
			switch color[j] {
			case grey:
				e.Add(ed.field, "loops back to \""+ed.to+"\" without a question in between; the bot would never stop")
			case white:
				visit(j)
			}
		}
		color[i] = black
	}
	for i := range f.Steps {
		if color[i] == white && f.Steps[i].Type != TypeQuestion {
			visit(i)
		}
	}
}

func at(i int) string { return "steps[" + strconv.Itoa(i) + "]" }

func has(m map[string]int, k string) bool { _, ok := m[k]; return ok }

func hasOption(q *FlowStep, v string) bool {
	for _, o := range q.Options {
		if strings.EqualFold(o.Value, v) {
			return true
		}
	}
	return false
}

func isNumber(s string) bool {
	_, ok := parseNumber(s)
	return ok
}

// parseNumber reads a number as visitors type it: "12", "-3.5", "3,5".
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
