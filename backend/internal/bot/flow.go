// Package bot is the rule-based bot: a flow of steps an admin defines over
// REST (messages, questions, saved answers, branches, hand-over, tickets),
// its validation, ready-made templates, and Step, the pure interpreter the
// chat engine drives one visitor message at a time.
package bot

// Step types.
const (
	TypeMessage      = "message"       // the bot says text, then goes on
	TypeQuestion     = "question"      // the bot asks and waits for the visitor's answer
	TypeBranch       = "branch"        // goes on by the answer to an earlier question
	TypeHandover     = "handover"      // a human takes over: ends the flow
	TypeCreateTicket = "create_ticket" // files a ticket, then goes on
	TypeEnd          = "end"           // the flow is over
)

// Kinds of answer a question takes.
const (
	InputText         = "text"
	InputQuickReplies = "quick_replies"
	InputEmail        = "email"
	InputNumber       = "number"
)

// Objects an answer can be saved to.
const (
	ObjectContact = "contact"
	ObjectTicket  = "ticket"
)

// Branch operators.
const (
	OpEquals      = "equals"       // case-insensitive, for any answer
	OpNotEquals   = "not_equals"   // case-insensitive, for any answer
	OpContains    = "contains"     // case-insensitive substring, for text and email
	OpGreaterThan = "greater_than" // numbers only
	OpLessThan    = "less_than"    // numbers only
)

// Flow is a bot's script: steps, run from Start.
type Flow struct {
	Start string     `json:"start"`
	Steps []FlowStep `json:"steps"`
}

// FlowStep is one step. Which fields apply depends on Type.
type FlowStep struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Text is what the bot says: the message, the question, or a last word
	// before a hand-over or the end. {{step_id}} inserts that question's answer.
	Text string `json:"text,omitempty"`
	// Next is the step after a message, a question or a ticket.
	Next string `json:"next,omitempty"`

	// Question: the kind of answer, the quick replies, the bounds of a
	// number, what to say when an answer does not fit, and where to save it.
	Input   string    `json:"input,omitempty"`
	Options []Option  `json:"options,omitempty"`
	Min     *float64  `json:"min,omitempty"`
	Max     *float64  `json:"max,omitempty"`
	Retry   string    `json:"retry,omitempty"`
	SaveTo  *Property `json:"save_to,omitempty"`

	// Branch: the question whose answer is tested, the cases in order,
	// and where to go when none matches.
	On      string `json:"on,omitempty"`
	Cases   []Case `json:"cases,omitempty"`
	Default string `json:"default,omitempty"`

	// Handover: to a user or a team; neither means the chatflow's own assignment.
	UserID int64 `json:"user_id,omitempty"`
	TeamID int64 `json:"team_id,omitempty"`

	// Create ticket: subject and properties ({{step_id}} inserts answers).
	Subject    string            `json:"subject,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// Option is one quick reply: the label shown and the value kept.
type Option struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Property names a contact or ticket property an answer is saved to.
type Property struct {
	Object string `json:"object"`
	Name   string `json:"name"`
}

// Case sends a branch to Next when the answer matches Op and Value.
type Case struct {
	Op    string `json:"op"`
	Value string `json:"value"`
	Next  string `json:"next"`
}

// step returns the step with id, or nil.
func (f *Flow) step(id string) *FlowStep {
	for i := range f.Steps {
		if f.Steps[i].ID == id {
			return &f.Steps[i]
		}
	}
	return nil
}
