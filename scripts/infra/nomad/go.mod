// Wrapper module that builds the Nomad agent for infermesh's integration tests.
// `go install github.com/hashicorp/nomad@vX` fails here (the proxy refuses the version list it
// looks up, and Nomad's go.mod has replace directives); requiring it from here builds its main package.
// Nomad is BUSL-1.1: only this file and go.sum belong in the repository.
module infermesh.local/infra/nomad

go 1.24.7

require github.com/hashicorp/nomad v1.10.5

// Nomad's own replaces, which a dependency's go.mod cannot impose: the api pseudo-version is the
// v1.10.5 commit (Nomad builds its api module from a local folder), hcl is HashiCorp's fork.
replace (
	github.com/Microsoft/go-winio => github.com/endocrimes/go-winio v0.4.13-0.20190628114223-fb47a8b41948
	github.com/hashicorp/hcl => github.com/hashicorp/hcl v1.0.1-nomad-1
	github.com/hashicorp/nomad/api => github.com/hashicorp/nomad/api v0.0.0-20250909143645-a3b86c697f38
)
