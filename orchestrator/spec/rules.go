package spec

import "github.com/vmfsbench/vmfsbench/orchestrator/tree"

// checkRule reports whether one exclusion rule is valid gitignore syntax.
func checkRule(r string) error {
	_, err := tree.NewMatcher([]string{r})
	return err
}
