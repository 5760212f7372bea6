package method

import (
	"context"
	"fmt"
)

// planOf is m's plan of the cell c; a method that cannot plan it fails the test by panicking.
func planOf(m Method, c Config) Setup {
	if c.Tools == nil {
		c = withTools(m, c)
	}
	p, err := m.Plan(c)
	if err != nil {
		panic(fmt.Sprintf("%s.Plan: %v", m.Name(), err))
	}
	return p
}

// runStep does the host step s as the runner does.
func runStep(ctx context.Context, s Step, env Env) (func(), error) {
	if s.Run == nil {
		return nil, RunCommands(ctx, env, s.Commands)
	}
	return s.Run(ctx, env)
}

// findVirtiofsd finds the daemon the method would use for daemon: want, as the host probe does.
func findVirtiofsd(want string) Virtiofsd {
	t := Virtiofs{}.Tools(Params{"daemon": want})[0]
	h := FindTool(context.Background(), t)
	if d, ok := h.Detail.(Virtiofsd); ok {
		return d
	}
	if want != "auto" && want != "" {
		return Virtiofsd{Path: want, Flavor: FlavorRust, Err: h.Err}
	}
	return Virtiofsd{Path: cVirtiofsd, Flavor: FlavorC, Err: h.Err}
}

// withTools is c with the host tools of m's cell probed, as the host probe fills them.
func withTools(m Method, c Config) Config {
	c.Tools = Found{}
	for _, t := range m.Tools(c.Params) {
		c.Tools[t.Name] = FindTool(context.Background(), t)
	}
	return c
}

// stepOf is the first host step of kind in m's plan of c.
func stepOf(m Method, c Config, kind StepKind) Step {
	for _, s := range planOf(m, c).Steps {
		if s.Kind == kind {
			return s
		}
	}
	panic(fmt.Sprintf("%s plans no %s step", m.Name(), kind))
}
