package spec

import "github.com/vmfsbench/vmfsbench/orchestrator/tree"

// checkSynthetic reports whether the generator can make the tree.
func checkSynthetic(s *Synthetic) error {
	return tree.Synthetic{Files: s.Files, Bytes: s.Bytes, Seed: s.Seed}.Validate()
}

// checkRule reports whether one exclusion rule is valid gitignore syntax.
func checkRule(r string) error {
	_, err := tree.NewMatcher([]string{r})
	return err
}
