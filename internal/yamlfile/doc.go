// Package yamlfile reads a user's YAML file into a Go "shape" type and
// reports what is wrong with it as problems a user can act on, each with the
// file, the 1-based line, the field path and a message:
//
//	job.yaml:12: spec.groups[0].task.resources.gpus: must be >= 0, got -2
//
// Decode takes the bytes of one file and a pointer to its shape: a struct
// whose fields are pointers to string, int and bool, slices, maps from
// strings, and further such structs, named by their yaml tags. Before
// yaml.v3 decodes anything, Decode walks the node tree alongside the shape
// and records the line of every field path; it reports unknown fields (with a
// suggestion within two edits), keys set twice, keys that are not strings and
// values of the wrong kind at their exact paths, so that yaml.v3's own
// messages reach a user only as a backstop, reworded. A syntax error, an
// empty file, more than one document or a top level that is not a mapping is
// the only problem reported for that file.
//
// Decode reads nothing but its arguments. It rejects files over MaxFileSize,
// mappings of more than 1000 entries, merges nested more than 8 deep and
// documents whose aliases expand to more than 200,000 values, so a hostile
// file costs little.
//
// Problems come back unsorted, in the order found; callers wrap them in
// their own error types and sort them. When Decode returns Fields, the shape
// value may be validated: a Checker reports the validator's problems on the
// line of the field at fault (or of its nearest enclosing field), and says
// nothing at or below a field whose value was already reported.
//
// Options hold what differs between file kinds: the words of a few
// messages, a list type that also accepts one scalar, and whether a key set
// twice stops the checking of the file.
package yamlfile
