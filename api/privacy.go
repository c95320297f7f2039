package api

// RetentionInput is the body of PUT /api/v1/retention.
type RetentionInput struct {
	RetentionDays *int  `json:"retention_days"`
	HIPAA         *bool `json:"hipaa,omitempty"` // absent: true; false says the workspace is not subject to HIPAA
}

// Retention describes a workspace's retention policy.
type Retention struct {
	Workspace     string  `json:"workspace"`
	RetentionDays int     `json:"retention_days"`
	HIPAA         bool    `json:"hipaa"`
	Default       bool    `json:"default"` // never set: the default policy
	UpdatedAt     *string `json:"updated_at"`
	UpdatedBy     *string `json:"updated_by"` // the admin key's id
	Enforced      bool    `json:"enforced"`   // false: nothing is destroyed by the policy yet
}

// LegalHoldInput is the body of POST /api/v1/legal-holds.
type LegalHoldInput struct {
	TenantID  *string `json:"tenant_id,omitempty"`
	PatientID *string `json:"patient_id,omitempty"`
	From      string  `json:"from,omitempty"`
	To        string  `json:"to,omitempty"`
	Reason    string  `json:"reason"`
}

// LegalHoldRelease is the body of DELETE /api/v1/legal-holds/{id}.
type LegalHoldRelease struct {
	Reason string `json:"reason"`
}

// LegalHold describes a legal hold.
type LegalHold struct {
	ID            string  `json:"id"`
	Workspace     string  `json:"workspace"`
	TenantID      *string `json:"tenant_id"`
	PatientID     *string `json:"patient_id"`
	From          *string `json:"from"`
	To            *string `json:"to"`
	Reason        string  `json:"reason"`
	Status        string  `json:"status"` // active or released
	CreatedAt     string  `json:"created_at"`
	CreatedBy     string  `json:"created_by"`
	ReleasedAt    *string `json:"released_at"`
	ReleasedBy    *string `json:"released_by"`
	ReleaseReason *string `json:"release_reason"`
}
