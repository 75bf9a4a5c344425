package jobspec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/phalanx-sched/phalanx/api"
)

func TestParseNodeSelectorAndSpread(t *testing.T) {
	const head = "apiVersion: phalanx/v1\nkind: Job\nmetadata: {name: j}\nspec:\n"
	const groups = "  groups:\n    - name: w\n      count: 2\n      spread: true\n      task: {image: busybox}\n"
	spec, err := Parse("job.yaml", []byte(head+"  node_selector: {pool: train, phalanx.io/node: gpu-7, example.com/zone: eu-1}\n"+groups))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pool": "train", api.NodeSelectorNode: "gpu-7", "example.com/zone": "eu-1"}
	if diff := cmp.Diff(want, spec.NodeSelector); diff != "" {
		t.Errorf("NodeSelector mismatch (-want +got):\n%s", diff)
	}
	if !spec.Groups[0].Spread {
		t.Error("Spread not set")
	}
	plain, err := Parse("job.yaml", []byte(base))
	if err != nil || plain.NodeSelector != nil || plain.Groups[0].Spread {
		t.Errorf("defaults: selector %v, spread %v, err %v", plain.NodeSelector, plain.Groups[0].Spread, err)
	}

	for _, tc := range []struct{ name, selector, want string }{
		{"bad key", "{\"bad key\": x}", `job.yaml:5: spec.node_selector["bad key"]: not a valid label key`},
		{"reserved key", "{phalanx.io/pool: x}", `job.yaml:5: spec.node_selector["phalanx.io/pool"]: reserved: the only phalanx.io/* key is phalanx.io/node`},
		{"empty value", "{pool: \"\"}", `job.yaml:5: spec.node_selector.pool: not a valid label value: want up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got ""`},
		{"empty node", "{phalanx.io/node: \"\"}", `job.yaml:5: spec.node_selector["phalanx.io/node"]: not a valid label value`},
		{"not a mapping", "[pool]", "job.yaml:5: spec.node_selector: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("job.yaml", []byte(head+"  node_selector: "+tc.selector+"\n"+groups))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	_, err = Parse("job.yaml", []byte(strings.Replace(head+groups, "spread: true", "spread: sometimes", 1)))
	if err == nil || !strings.Contains(err.Error(), "job.yaml:8: spec.groups[0].spread: ") {
		t.Errorf("spread: sometimes: error = %v", err)
	}
}
