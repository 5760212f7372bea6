package spec

import "github.com/vmfsbench/vmfsbench/orchestrator/tree"

// checkSynthetic reports whether the generator can make the tree.
func checkSynthetic(s *Synthetic) error {
	if err := s.Tree().Validate(); err != nil {
		return err
	}
	if s.LitTests > 0 {
		return tree.LitOptions{Tests: s.LitTests, Seed: s.Seed}.Validate()
	}
	return nil
}

// checkRule reports whether one exclusion rule is valid gitignore syntax.
func checkRule(r string) error {
	_, err := tree.NewMatcher([]string{r})
	return err
}
