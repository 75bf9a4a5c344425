package webhook

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/phalanx-sched/phalanx/pipeline"
)

func TestParseRecorded(t *testing.T) {
	ghRepo := func(d Delivery) Delivery {
		d.Forge, d.CloneURL, d.RepoName, d.Event.Repo = GitHub, "https://github.com/acme/trainer.git", "acme/trainer", "acme/trainer"
		return d
	}
	glRepo := func(d Delivery) Delivery {
		d.Forge, d.CloneURL, d.RepoName, d.Event.Repo = GitLab, "https://gitlab.example.com/ml/vision/trainer.git", "ml/vision/trainer", "ml/vision/trainer"
		return d
	}
	gtRepo := func(d Delivery) Delivery {
		d.Forge, d.CloneURL, d.RepoName, d.Event.Repo = Gitea, "https://git.example.com/ml/trainer.git", "ml/trainer", "ml/trainer"
		return d
	}
	gnRepo := func(d Delivery) Delivery {
		d.Forge, d.CloneURL, d.RepoName, d.Event.Repo = Generic, "https://git.example.com/trainer.git", "team/trainer", "team/trainer"
		return d
	}
	want := map[string]Delivery{
		"github/push": ghRepo(Delivery{
			ID:     "7b4f3a10-8a0e-11ef-9d2b-5c1d8f7e3a41",
			Before: "9c3d2a7e5b1f4c6d8e0a2b4c6d8e0f1a3b5c7d9e",
			Event: pipeline.Event{Kind: pipeline.EventPush, Ref: "refs/heads/main", Branch: "main",
				Commit:       "1f2e3d4c5b6a79881726354453627180f9e8d7c6",
				ChangedFiles: []string{"README.md", "data/old_loader.py", "model/config/large.yaml", "model/train.py"}},
		}),
		"github/push_tag": ghRepo(Delivery{
			ID:     "0d9e8f70-8a11-11ef-8c6e-2f4a1b3c5d7e",
			Before: "0000000000000000000000000000000000000000",
			// after is the annotated tag's object; head_commit the commit.
			Event: pipeline.Event{Kind: pipeline.EventTag, Ref: "refs/tags/v1.2.0", Tag: "v1.2.0",
				Commit: "1f2e3d4c5b6a79881726354453627180f9e8d7c6"},
		}),
		"github/pull_request_opened": ghRepo(Delivery{
			ID: "2f3e4d50-8ae1-11ef-8a9b-1c2d3e4f5a6b",
			Event: pipeline.Event{Kind: pipeline.EventPullRequest, Ref: "refs/pull/42/head", Branch: "main",
				Commit: "8899aabbccddeeff00112233445566778899aabb", PullRequest: 42},
		}),
		"github/pull_request_synchronize": ghRepo(Delivery{
			ID: "6c7d8e90-8ae4-11ef-9bcd-2d3e4f5a6b7c",
			Event: pipeline.Event{Kind: pipeline.EventPullRequest, Ref: "refs/pull/42/head", Branch: "main",
				Commit: "ccddeeff00112233445566778899aabbccddeeff", PullRequest: 42},
		}),
		"gitlab/push": glRepo(Delivery{
			ID:     "8d1e2f3a-4b5c-4d6e-8f70-a1b2c3d4e5f6",
			Before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
			Event: pipeline.Event{Kind: pipeline.EventPush, Ref: "refs/heads/main", Branch: "main",
				Commit:       "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
				ChangedFiles: []string{".phalanx.yml", "data/loader.py", "data/shards.py", "notebooks/explore.ipynb"}},
		}),
		"gitlab/tag_push": glRepo(Delivery{
			ID:     "9e2f3a4b-5c6d-4e7f-9081-b2c3d4e5f6a7",
			Before: "0000000000000000000000000000000000000000",
			Event: pipeline.Event{Kind: pipeline.EventTag, Ref: "refs/tags/v2.0.0", Tag: "v2.0.0",
				Commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"},
		}),
		"gitlab/merge_request_open": glRepo(Delivery{
			ID: "b04b5c6d-7e8f-4091-b2a3-d4e5f6a7b8c9",
			Event: pipeline.Event{Kind: pipeline.EventPullRequest, Ref: "refs/merge-requests/17/head", Branch: "main",
				Commit: "4a5b6c7d8e9f00112233445566778899aabbccdd", PullRequest: 17},
		}),
		"gitlab/merge_request_update": glRepo(Delivery{
			ID: "c15c6d7e-8f90-41a2-c3b4-e5f6a7b8c9d0",
			Event: pipeline.Event{Kind: pipeline.EventPullRequest, Ref: "refs/merge-requests/17/head", Branch: "main",
				Commit: "5b6c7d8e9f00112233445566778899aabbccddee", PullRequest: 17},
		}),
		"gitea/push": gtRepo(Delivery{
			ID:     "6f1b9a2c-3d4e-4f5a-9b6c-7d8e9f0a1b2c",
			Before: "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
			Event: pipeline.Event{Kind: pipeline.EventPush, Ref: "refs/heads/main", Branch: "main",
				Commit:       "7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f",
				ChangedFiles: []string{".phalanx.yml", ".phalanx/cache.yml", "model/legacy.py", "model/schedule.py"}},
		}),
		"gitea/push_tag": gtRepo(Delivery{
			ID:     "7a2c0b3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d",
			Before: "0000000000000000000000000000000000000000",
			Event: pipeline.Event{Kind: pipeline.EventTag, Ref: "refs/tags/v0.9.0", Tag: "v0.9.0",
				Commit: "7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"},
		}),
		"gitea/pull_request_opened": gtRepo(Delivery{
			ID: "be6a4f71-8293-4eaf-c0b1-c2d3e4f5a6b7",
			Event: pipeline.Event{Kind: pipeline.EventPullRequest, Ref: "refs/pull/7/head", Branch: "main",
				Commit: "1234567890abcdef1234567890abcdef12345678", PullRequest: 7},
		}),
		"gitea/pull_request_synchronized": gtRepo(Delivery{
			ID: "cf7b5082-93a4-4fb0-d1c2-d3e4f5a6b7c8",
			Event: pipeline.Event{Kind: pipeline.EventPullRequest, Ref: "refs/pull/7/head", Branch: "main",
				Commit: "abcdef1234567890abcdef1234567890abcdef12", PullRequest: 7},
		}),
		"generic/push": gnRepo(Delivery{
			ID:     "1728897181-4242-1",
			Before: "9c3d2a7e5b1f4c6d8e0a2b4c6d8e0f1a3b5c7d9e",
			Event: pipeline.Event{Kind: pipeline.EventPush, Ref: "refs/heads/main", Branch: "main",
				Commit: "1f2e3d4c5b6a79881726354453627180f9e8d7c6"},
		}),
		"generic/tag": gnRepo(Delivery{
			ID:     "1728897181-4242-2",
			Before: "0000000000000000000000000000000000000000",
			Event: pipeline.Event{Kind: pipeline.EventTag, Ref: "refs/tags/v1.2.0", Tag: "v1.2.0",
				Commit: "1f2e3d4c5b6a79881726354453627180f9e8d7c6"},
		}),
		"generic/new_branch_body_id": {
			Forge: Generic, ID: "manual-7", CloneURL: "file:///srv/git/trainer.git", RepoName: "team/trainer",
			Before: "0000000000000000000000000000000000000000",
			Event: pipeline.Event{Kind: pipeline.EventPush, Repo: "team/trainer", Ref: "refs/heads/release/2.0", Branch: "release/2.0",
				Commit: "1f2e3d4c5b6a79881726354453627180f9e8d7c6"},
		},
	}
	// Deliveries that start nothing, and what the reason must say.
	ignoredBecause := map[string]string{
		"github/ping":                       "ping",
		"github/push_delete":                "deletes refs/heads/feature/old-loader",
		"github/pull_request_closed":        `action "closed"`,
		"gitlab/push_delete":                "deletes refs/heads/experiment",
		"gitlab/merge_request_update_title": "update without new commits",
		"gitlab/pipeline":                   "Pipeline Hook events",
		"gitea/push_delete":                 "deletes refs/heads/experiment",
		"gitea/delete_branch":               "delete events",
		"gitea/create_tag":                  "create events",
		"gitea/pull_request_edited":         `action "edited"`,
		"generic/delete":                    "deletes refs/heads/experiment",
	}
	seen := 0
	for _, rec := range loadAll(t) {
		key := rec.forge + "/" + rec.name
		t.Run(key, func(t *testing.T) {
			h := signed(rec.forge, rec.header, rec.body, secret)
			if err := Verify(rec.forge, h, rec.body, secret); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := Parse(rec.forge, h, rec.body)
			if reason, ok := ignoredBecause[key]; ok {
				seen++
				if !errors.Is(err, ErrIgnored) || !strings.Contains(err.Error(), reason) {
					t.Fatalf("Parse = %+v, %v; want ErrIgnored saying %q", got, err, reason)
				}
				return
			}
			w, ok := want[key]
			if !ok {
				t.Fatalf("no expectation for %s", key)
			}
			seen++
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
			if (w.Event.ChangedFiles == nil) != (got.Event.ChangedFiles == nil) {
				t.Errorf("ChangedFiles nil-ness: got %#v", got.Event.ChangedFiles)
			}
		})
	}
	if seen != len(want)+len(ignoredBecause) {
		t.Errorf("checked %d deliveries, want %d: a testdata file is missing", seen, len(want)+len(ignoredBecause))
	}
}

func TestVerify(t *testing.T) {
	for _, rec := range loadAll(t) {
		t.Run(rec.forge+"/"+rec.name, func(t *testing.T) {
			good := signed(rec.forge, rec.header, rec.body, secret)
			if err := Verify(rec.forge, good, rec.body, secret); err != nil {
				t.Fatalf("right signature: %v", err)
			}
			cases := map[string]struct {
				h    http.Header
				body []byte
				key  []byte
				want error
			}{
				"wrong secret":    {signed(rec.forge, rec.header, rec.body, []byte("guess")), rec.body, secret, ErrUnauthorized},
				"no header":       {rec.header, rec.body, secret, ErrUnauthorized},
				"body changed":    {good, append(bytes.Clone(rec.body), ' '), secret, ErrUnauthorized},
				"empty secret":    {good, rec.body, nil, ErrNoSecret},
				"signed by empty": {signed(rec.forge, rec.header, rec.body, []byte{}), rec.body, nil, ErrNoSecret},
			}
			if rec.forge == GitLab || rec.forge == Generic {
				delete(cases, "body changed") // a shared token does not sign the body
			}
			for name, tc := range cases {
				if err := Verify(rec.forge, tc.h, tc.body, tc.key); !errors.Is(err, tc.want) {
					t.Errorf("%s: Verify = %v, want %v", name, err, tc.want)
				}
			}
		})
	}
}

func TestVerifyHeaders(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := signed(GitHub, http.Header{}, body, secret).Get("X-Hub-Signature-256")
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	cases := []struct {
		forge string
		h     http.Header
		want  error
		says  string
	}{
		{GitHub, hdr("X-Hub-Signature-256", mac), nil, ""},
		{GitHub, hdr("X-Hub-Signature-256", strings.TrimPrefix(mac, "sha256=")), ErrUnauthorized, `does not start with "sha256="`},
		{GitHub, hdr("X-Hub-Signature-256", "sha256=zz"), ErrUnauthorized, "not hexadecimal"},
		{GitHub, hdr("X-Hub-Signature", "sha1=0000"), ErrUnauthorized, "no X-Hub-Signature-256 header"},
		{Gitea, hdr("X-Gitea-Signature", strings.TrimPrefix(mac, "sha256=")), nil, ""},
		{Gitea, hdr("X-Forgejo-Signature", strings.TrimPrefix(mac, "sha256=")), nil, ""},
		{Gitea, hdr("X-Hub-Signature-256", mac), nil, ""},
		{Gitea, hdr("X-Gitea-Signature", mac), ErrUnauthorized, "not hexadecimal"},
		{Gitea, hdr(), ErrUnauthorized, "no X-Gitea-Signature header"},
		{GitLab, hdr("X-Gitlab-Token", string(secret)), nil, ""},
		{GitLab, hdr("X-Gitlab-Token", string(secret)+"x"), ErrUnauthorized, "not this repository's secret"},
		{Generic, hdr("Authorization", "Bearer "+string(secret)), nil, ""},
		{Generic, hdr("Authorization", "bearer "+string(secret)), nil, ""},
		{Generic, hdr("Authorization", "Basic "+string(secret)), ErrUnauthorized, `not "Bearer <token>"`},
		{Generic, hdr("X-Phalanx-Token", string(secret)), nil, ""},
		{Generic, hdr("X-Phalanx-Token", "nope"), ErrUnauthorized, "X-Phalanx-Token"},
		{Generic, hdr(), ErrUnauthorized, "no X-Phalanx-Token header"},
		{"bitbucket", hdr(), ErrUnknownForge, "github, gitlab, gitea, generic"},
	}
	for _, tc := range cases {
		err := Verify(tc.forge, tc.h, body, secret)
		if !errors.Is(err, tc.want) || (err != nil && !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("Verify(%s, %v) = %v; want %v saying %q", tc.forge, tc.h, err, tc.want, tc.says)
		}
		if err != nil && strings.Contains(err.Error(), string(secret)) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

func TestReadBody(t *testing.T) {
	for _, n := range []int{0, 1, MaxBody} {
		b, err := ReadBody(bytes.NewReader(make([]byte, n)))
		if err != nil || len(b) != n {
			t.Errorf("ReadBody(%d bytes) = %d bytes, %v", n, len(b), err)
		}
	}
	if _, err := ReadBody(bytes.NewReader(make([]byte, MaxBody+1))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadBody(MaxBody+1) = %v, want ErrTooLarge", err)
	}
}

func TestChangedFiles(t *testing.T) {
	base := load(t, filepath.Join("testdata", "gitlab", "push.delivery"))
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"truncated list", `"total_commits_count": 2`, `"total_commits_count": 25`, nil},
		{"new branch", `"before": "95790bf891e76fee5e1747ab589903a6a1f80f22"`, `"before": "0000000000000000000000000000000000000000"`, nil},
		{"no count", `"total_commits_count": 2,`, ``, []string{".phalanx.yml", "data/loader.py", "data/shards.py", "notebooks/explore.ipynb"}},
	}
	for _, tc := range cases {
		body := []byte(strings.Replace(string(base.body), tc.from, tc.to, 1))
		d, err := Parse(GitLab, base.header, body)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, d.Event.ChangedFiles); diff != "" || (tc.want == nil) != (d.Event.ChangedFiles == nil) {
			t.Errorf("%s: ChangedFiles (-want +got):\n%s", tc.name, diff)
		}
	}
	// No commits listed: unknown, not "nothing changed".
	gh := load(t, filepath.Join("testdata", "github", "push.delivery"))
	i := strings.Index(string(gh.body), `"commits": [`)
	j := strings.Index(string(gh.body), `"head_commit"`)
	body := string(gh.body[:i]) + `"commits": [],` + "\n  " + string(gh.body[j:])
	d, err := Parse(GitHub, gh.header, []byte(body))
	if err != nil || d.Event.ChangedFiles != nil {
		t.Errorf("push listing no commits: ChangedFiles = %#v, %v; want nil", d.Event.ChangedFiles, err)
	}
}

// GitHub's default content type sends the JSON as a form's payload field;
// the signature covers the form body.
func TestParseForm(t *testing.T) {
	for _, name := range []string{"github/push", "gitea/pull_request_opened"} {
		rec := load(t, filepath.Join("testdata", name+".delivery"))
		want, err := Parse(rec.forge, rec.header, rec.body)
		if err != nil {
			t.Fatal(err)
		}
		form := []byte(url.Values{"payload": {string(rec.body)}}.Encode())
		h := signed(rec.forge, rec.header, form, secret)
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := Verify(rec.forge, h, form, secret); err != nil {
			t.Fatalf("%s: Verify: %v", name, err)
		}
		got, err := Parse(rec.forge, h, form)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: form and JSON deliveries differ (-json +form):\n%s", name, diff)
		}
		if _, err := Parse(rec.forge, h, []byte("other=1")); err == nil || !strings.Contains(err.Error(), "no payload field") {
			t.Errorf("%s: form without payload: %v", name, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	push := http.Header{"X-Github-Event": {"push"}}
	const ok = `"before":"9c3d2a7e5b1f4c6d8e0a2b4c6d8e0f1a3b5c7d9e","after":"1f2e3d4c5b6a79881726354453627180f9e8d7c6"`
	const repo = `"repository":{"clone_url":"https://git.example.com/r.git","full_name":"o/r"}`
	cases := []struct {
		forge string
		h     http.Header
		body  string
		says  string
	}{
		{GitHub, push, `{"ref": "refs/heads/main",`, "github push payload: byte 26: not valid JSON: the body ends early"},
		{GitHub, push, `[]`, "want a JSON object, got a JSON array"},
		{GitHub, push, `{"ref": 7}`, "field ref: want string, got a JSON number"},
		{GitHub, push, `{"ref":"refs/heads/main",` + ok + `}`, "field repository.clone_url is missing"},
		{GitHub, push, `{` + ok + `,` + repo + `}`, "field ref is missing"},
		{GitHub, push, `{"ref":"refs/heads/main","after":"xyz",` + repo + `}`, `field after: "xyz" is not a commit hash`},
		{GitHub, push, `{"ref":"refs/heads/",` + ok + `,` + repo + `}`, "names no branch or tag"},
		{GitHub, push, `{"ref":"refs/heads/main",` + ok + `,` + repo + `} {}`, "data after the JSON object"},
		{GitHub, http.Header{"X-Github-Event": {"pull_request"}}, `{"action":"opened","number":0,` + repo + `}`, "want a positive pull request number, got 0"},
		{GitHub, http.Header{"X-Github-Event": {"pull_request"}}, `{"action":"opened","number":3,"pull_request":{"head":{"sha":"1f2e3d4c5b6a79881726354453627180f9e8d7c6"}},` + repo + `}`, "field base branch is missing"},
		{GitLab, http.Header{"X-Gitlab-Event": {"Push Hook"}}, `{"ref":"refs/heads/main",` + ok + `,"project":{"git_http_url":"x"}}`, "project.path_with_namespace is missing"},
		{Generic, nil, `{"ref":"refs/heads/main",` + ok + `,` + repo + `,"commits":[]}`, `unknown field "commits"`},
		{Generic, nil, `{"ref":"refs/heads/main","before":"nope","after":"1f2e3d4c5b6a79881726354453627180f9e8d7c6",` + repo + `}`, `field before: "nope" is not a commit hash`},
		{"bitbucket", nil, `{}`, "unknown forge"},
	}
	for _, tc := range cases {
		_, err := Parse(tc.forge, tc.h, []byte(tc.body))
		if err == nil || errors.Is(err, ErrIgnored) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Parse(%s, %s) = %v; want an error saying %q", tc.forge, tc.body, err, tc.says)
		}
	}
	// A ref that is neither a branch nor a tag is ignored, not an error.
	_, err := Parse(Generic, nil, []byte(`{"ref":"refs/notes/commits",`+ok+`,`+repo+`}`))
	if !errors.Is(err, ErrIgnored) {
		t.Errorf("notes ref: %v, want ErrIgnored", err)
	}
}
