package api

// ViewerTokenInput is the body of POST /api/v1/viewer-token (Immutable's
// createViewerToken): the tenant whose events the viewer shows, optionally
// one actor's only, and the token's lifetime in seconds.
type ViewerTokenInput struct {
	TenantID string `json:"tenant_id"`
	ActorID  string `json:"actor_id,omitempty"`
	TTL      *int64 `json:"ttl,omitempty"`
}

// ViewerToken answers it, in the SDKs' shape (not wrapped in data).
type ViewerToken struct {
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expires_at"` // Unix seconds
}
