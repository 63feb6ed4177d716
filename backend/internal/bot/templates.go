package bot

// Template is a ready-made flow an admin starts a bot from.
type Template struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Flow
}

// Templates returns the ready-made flows, each a fresh copy. They hand
// over without a target, so conversations follow the chatflow's own
// assignment rules until the admin names a user or team.
func Templates() []Template {
	return []Template{leadQualification(), supportTriage()}
}

// TemplateByID returns the template with id.
func TemplateByID(id string) (Template, bool) {
	for _, t := range Templates() {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}

func f64(v float64) *float64 { return &v }

func leadQualification() Template {
	return Template{
		ID:          "lead_qualification",
		Name:        "Lead qualification",
		Description: "Asks for name, email, team size and timeline; hands larger teams to sales at once and files a ticket for the rest.",
		Flow: Flow{Start: "welcome", Steps: []FlowStep{
			{ID: "welcome", Type: TypeMessage, Text: "Hi! I can get you to the right person in a minute.", Next: "name"},
			{ID: "name", Type: TypeQuestion, Input: InputText, Text: "What is your name?",
				SaveTo: &Property{Object: ObjectContact, Name: "name"}, Next: "email"},
			{ID: "email", Type: TypeQuestion, Input: InputEmail, Text: "Thanks, {{name}}. What is your work email?",
				SaveTo: &Property{Object: ObjectContact, Name: "email"}, Next: "team_size"},
			{ID: "team_size", Type: TypeQuestion, Input: InputNumber, Text: "How many people are on your team?",
				Min: f64(1), Max: f64(1000000), SaveTo: &Property{Object: ObjectContact, Name: "team_size"}, Next: "size_branch"},
			{ID: "size_branch", Type: TypeBranch, On: "team_size",
				Cases:   []Case{{Op: OpGreaterThan, Value: "50", Next: "sales"}},
				Default: "timeline"},
			{ID: "timeline", Type: TypeQuestion, Input: InputQuickReplies, Text: "When are you looking to start?",
				Options: []Option{{Label: "This month", Value: "now"}, {Label: "This quarter", Value: "quarter"}, {Label: "Just looking", Value: "later"}},
				SaveTo:  &Property{Object: ObjectContact, Name: "buying_timeline"}, Next: "timeline_branch"},
			{ID: "timeline_branch", Type: TypeBranch, On: "timeline",
				Cases:   []Case{{Op: OpEquals, Value: "later", Next: "goodbye"}},
				Default: "ticket"},
			{ID: "ticket", Type: TypeCreateTicket, Subject: "Lead: {{name}} ({{team_size}} people)",
				Properties: map[string]string{"pipeline": "sales", "priority": "medium", "timeline": "{{timeline}}"}, Next: "sales"},
			{ID: "sales", Type: TypeHandover, Text: "Great, I am bringing in someone from our sales team."},
			{ID: "goodbye", Type: TypeEnd, Text: "Thanks, {{name}}! We will email you a short overview."},
		}},
	}
}

func supportTriage() Template {
	return Template{
		ID:          "support_triage",
		Name:        "Support triage",
		Description: "Asks what the problem is about and for an email, files a ticket with the category and urgency, and hands over; urgent outages skip the queue.",
		Flow: Flow{Start: "topic", Steps: []FlowStep{
			{ID: "topic", Type: TypeQuestion, Input: InputQuickReplies, Text: "Hi! What can we help you with?",
				Options: []Option{{Label: "Billing", Value: "billing"}, {Label: "Something is broken", Value: "bug"},
					{Label: "My account", Value: "account"}, {Label: "Something else", Value: "other"}},
				SaveTo: &Property{Object: ObjectTicket, Name: "category"}, Next: "topic_branch"},
			{ID: "topic_branch", Type: TypeBranch, On: "topic",
				Cases:   []Case{{Op: OpEquals, Value: "bug", Next: "urgency"}},
				Default: "describe"},
			{ID: "urgency", Type: TypeQuestion, Input: InputQuickReplies, Text: "Is it stopping your work right now?",
				Options: []Option{{Label: "Yes, everything is down", Value: "urgent"}, {Label: "No, but it is annoying", Value: "normal"}},
				SaveTo:  &Property{Object: ObjectTicket, Name: "priority"}, Next: "urgency_branch"},
			{ID: "urgency_branch", Type: TypeBranch, On: "urgency",
				Cases:   []Case{{Op: OpEquals, Value: "urgent", Next: "urgent_ticket"}},
				Default: "describe"},
			{ID: "urgent_ticket", Type: TypeCreateTicket, Subject: "Outage reported in chat",
				Properties: map[string]string{"priority": "high", "category": "bug"}, Next: "urgent_handover"},
			{ID: "urgent_handover", Type: TypeHandover, Text: "I am getting an engineer for you now."},
			{ID: "describe", Type: TypeQuestion, Input: InputText, Text: "Please describe what happened in a sentence or two.",
				SaveTo: &Property{Object: ObjectTicket, Name: "description"}, Next: "email"},
			{ID: "email", Type: TypeQuestion, Input: InputEmail, Text: "What email address can we reach you at?",
				SaveTo: &Property{Object: ObjectContact, Name: "email"}, Next: "ticket"},
			{ID: "ticket", Type: TypeCreateTicket, Subject: "{{topic}}: {{describe}}",
				Properties: map[string]string{"category": "{{topic}}"}, Next: "handover"},
			{ID: "handover", Type: TypeHandover, Text: "Thanks! A member of the team will pick this up here shortly."},
		}},
	}
}
