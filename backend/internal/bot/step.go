package bot

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/widget"
)

// Conversation states of a bot.
const (
	StatusWaiting    = "waiting"     // asked a question; the next input is the answer
	StatusHandedOver = "handed_over" // a human has the conversation
	StatusEnded      = "ended"       // the flow finished
)

// State is where a conversation is in its bot's flow. The zero State has
// not started. The chat engine keeps it between visitor messages.
type State struct {
	Status  string            `json:"status,omitempty"`
	Step    string            `json:"step,omitempty"`    // the question waiting for its answer
	Answers map[string]string `json:"answers,omitempty"` // by question step id
}

// Output kinds: what the chat engine does with each.
const (
	OutMessage      = "message"       // show Text as the bot's message
	OutQuestion     = "question"      // show Text, with Options as quick replies; Input says what answer fits
	OutSave         = "save"          // set Property to Value on the contact or the ticket
	OutHandover     = "handover"      // route to UserID, TeamID or the chatflow's assignment
	OutCreateTicket = "create_ticket" // file a ticket with Subject and Properties
	OutEnd          = "end"           // the bot is finished with this conversation
)

// Output is one thing the bot says or does.
type Output struct {
	Kind       string            `json:"kind"`
	Step       string            `json:"step"`
	Text       string            `json:"text,omitempty"`
	Input      string            `json:"input,omitempty"`
	Options    []Option          `json:"options,omitempty"`
	Property   *Property         `json:"property,omitempty"`
	Value      string            `json:"value,omitempty"`
	UserID     int64             `json:"user_id,omitempty"`
	TeamID     int64             `json:"team_id,omitempty"`
	Subject    string            `json:"subject,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// Step advances a conversation through flow by one visitor input (ignored
// when the flow has not started: Step(flow, State{}, "") starts it). It
// returns what the bot says and does, in order, and the new state; state
// itself is not changed. An answer that does not fit the question is
// asked again with the question's retry text. A flow changed under a
// running conversation (its step gone) hands the conversation to a human
// rather than guessing. Step is pure: the caller saves, routes and files.
func Step(flow *Flow, state State, input string) ([]Output, State) {
	next := State{Status: state.Status, Step: state.Step, Answers: make(map[string]string, len(state.Answers)+1)}
	for k, v := range state.Answers {
		next.Answers[k] = v
	}
	var out []Output
	var cur string
	switch state.Status {
	case StatusHandedOver, StatusEnded:
		return nil, next
	case StatusWaiting:
		q := flow.step(state.Step)
		if q == nil || q.Type != TypeQuestion {
			return handOver(out, next, state.Step)
		}
		answer, ok := accept(q, input)
		if !ok {
			out = append(out, Output{Kind: OutMessage, Step: q.ID, Text: retryText(q)})
			return append(out, question(q, next.Answers)), next
		}
		next.Answers[q.ID] = answer
		if q.SaveTo != nil {
			p := *q.SaveTo
			out = append(out, Output{Kind: OutSave, Step: q.ID, Property: &p, Value: answer})
		}
		cur = q.Next
	default:
		cur = flow.Start
	}
	next.Status, next.Step = "", ""
	// Validation forbids loops without a question; the bound keeps a flow
	// that skipped validation from spinning.
	for range len(flow.Steps) + 1 {
		s := flow.step(cur)
		if s == nil {
			return handOver(out, next, cur)
		}
		switch s.Type {
		case TypeMessage:
			out = append(out, Output{Kind: OutMessage, Step: s.ID, Text: fill(s.Text, next.Answers)})
			cur = s.Next
		case TypeQuestion:
			next.Status, next.Step = StatusWaiting, s.ID
			return append(out, question(s, next.Answers)), next
		case TypeBranch:
			cur = s.Default
			for _, c := range s.Cases {
				if matches(c, next.Answers[s.On]) {
					cur = c.Next
					break
				}
			}
		case TypeCreateTicket:
			props := make(map[string]string, len(s.Properties))
			for k, v := range s.Properties {
				props[k] = fill(v, next.Answers)
			}
			out = append(out, Output{Kind: OutCreateTicket, Step: s.ID, Subject: fill(s.Subject, next.Answers), Properties: props})
			cur = s.Next
		case TypeHandover:
			if s.Text != "" {
				out = append(out, Output{Kind: OutMessage, Step: s.ID, Text: fill(s.Text, next.Answers)})
			}
			next.Status = StatusHandedOver
			return append(out, Output{Kind: OutHandover, Step: s.ID, UserID: s.UserID, TeamID: s.TeamID}), next
		case TypeEnd:
			if s.Text != "" {
				out = append(out, Output{Kind: OutMessage, Step: s.ID, Text: fill(s.Text, next.Answers)})
			}
			next.Status = StatusEnded
			return append(out, Output{Kind: OutEnd, Step: s.ID}), next
		default:
			return handOver(out, next, cur)
		}
	}
	return handOver(out, next, cur)
}

// handOver is the way out of a flow that cannot go on: a human takes over.
func handOver(out []Output, s State, step string) ([]Output, State) {
	s.Status, s.Step = StatusHandedOver, ""
	return append(out, Output{Kind: OutHandover, Step: step}), s
}

func question(q *FlowStep, answers map[string]string) Output {
	o := Output{Kind: OutQuestion, Step: q.ID, Text: fill(q.Text, answers), Input: q.Input}
	if len(q.Options) > 0 {
		o.Options = append([]Option(nil), q.Options...)
	}
	return o
}

// accept checks an answer against its question and returns the value to
// keep: the trimmed text, the address, the number written plainly, or the
// chosen quick reply's value (matched by label or value, any case).
func accept(q *FlowStep, input string) (string, bool) {
	a := strings.TrimSpace(input)
	if a == "" || utf8.RuneCountInString(a) > MaxAnswerChars {
		return "", false
	}
	switch q.Input {
	case InputEmail:
		return a, widget.ValidEmail(a)
	case InputNumber:
		v, ok := parseNumber(a)
		if !ok || q.Min != nil && v < *q.Min || q.Max != nil && v > *q.Max {
			return "", false
		}
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case InputQuickReplies:
		for _, o := range q.Options {
			if strings.EqualFold(a, strings.TrimSpace(o.Label)) || strings.EqualFold(a, strings.TrimSpace(o.Value)) {
				return o.Value, true
			}
		}
		return "", false
	}
	return a, true
}

func retryText(q *FlowStep) string {
	if q.Retry != "" {
		return q.Retry
	}
	switch q.Input {
	case InputEmail:
		return "That does not look like an email address. Please type it again, like name@example.com."
	case InputNumber:
		switch {
		case q.Min != nil && q.Max != nil:
			return "Please answer with a number from " + num(*q.Min) + " to " + num(*q.Max) + "."
		case q.Min != nil:
			return "Please answer with a number of at least " + num(*q.Min) + "."
		case q.Max != nil:
			return "Please answer with a number of at most " + num(*q.Max) + "."
		}
		return "Please answer with a number."
	case InputQuickReplies:
		return "Please choose one of the options."
	}
	return "Please type an answer (at most " + strconv.Itoa(MaxAnswerChars) + " characters)."
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func matches(c Case, answer string) bool {
	switch c.Op {
	case OpEquals:
		return answerEquals(c.Value, answer)
	case OpNotEquals:
		return !answerEquals(c.Value, answer)
	case OpContains:
		return strings.Contains(strings.ToLower(answer), strings.ToLower(c.Value))
	case OpGreaterThan, OpLessThan:
		a, ok1 := parseNumber(answer)
		v, ok2 := parseNumber(c.Value)
		if !ok1 || !ok2 {
			return false
		}
		if c.Op == OpGreaterThan {
			return a > v
		}
		return a < v
	}
	return false
}

// answerEquals compares case-insensitively, and numbers by value ("5" is "5.0").
func answerEquals(want, answer string) bool {
	if a, ok := parseNumber(answer); ok {
		if v, ok := parseNumber(want); ok {
			return a == v
		}
	}
	return strings.EqualFold(strings.TrimSpace(want), strings.TrimSpace(answer))
}

// fill replaces {{step_id}} with that question's answer ("" if unanswered).
func fill(s string, answers map[string]string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(answers[strings.TrimSpace(s[i+2:i+2+j])])
		s = s[i+2+j+2:]
	}
	b.WriteString(s)
	return b.String()
}
