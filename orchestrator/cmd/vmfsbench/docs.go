package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
)

// flagSet returns c's flag set, as c defines it: c run with --help answers before it does
// anything else.
func flagSet(c cmdInfo) *flag.FlagSet {
	var help helpRequested
	if err := c.run(context.Background(), []string{"--help"}, io.Discard, io.Discard); !errors.As(err, &help) {
		panic("vmfsbench " + c.name + " --help did not ask for help: " + err.Error())
	}
	return help.fs
}

// readmeWidth is where readmeCommands wraps a synopsis.
const readmeWidth = 100

// readmeCommands is the README's command block, made from the table (commands) and each
// command's flags: a command's first synopsis with every flag no synopsis names (a pair of
// exclusive flags as one choice), its other synopses, then its one line, indented; all
// wrapped. TestReadmeCommands checks that README.md holds it and -update writes it there, so
// adding a command or a flag is an edit of the command alone.
func readmeCommands() string {
	var b strings.Builder
	for _, c := range commands {
		fs := flagSet(c)
		forms := " " + strings.Join(c.forms, " ") + " "
		var flags []string
		fs.VisitAll(func(f *flag.Flag) {
			name := flagName(f)
			if strings.Contains(forms, " "+name+" ") || isSecondOfPair(f.Name) {
				return // a synopsis names it, or its pair's first does
			}
			if arg, _ := flag.UnquoteUsage(f); arg != "" {
				name += " " + arg
			}
			for _, p := range exclusive {
				if p[0] == f.Name && fs.Lookup(p[1]) != nil {
					name += "|" + flagName(fs.Lookup(p[1]))
				}
			}
			flags = append(flags, "["+name+"]")
		})
		for i, form := range c.forms {
			words := strings.Fields("vmfsbench " + c.name + " " + form)
			var command []string // after --: the flags go before it
			if j := slices.Index(words, "--"); j >= 0 {
				words, command = words[:j], words[j:]
			}
			if i == 0 {
				words = append(words, flags...)
			} else if len(flags) > 0 {
				words = append(words, "[flags]")
			}
			words = append(words, command...)
			b.WriteString(wrap(words, readmeWidth, "        "))
		}
		b.WriteString(wrap(append([]string{"   "}, strings.Fields(c.summary)...), readmeWidth, "    "))
	}
	return b.String()
}

// isSecondOfPair reports whether the flag name is the second of a pair of exclusive flags.
func isSecondOfPair(name string) bool {
	for _, p := range exclusive {
		if p[1] == name {
			return true
		}
	}
	return false
}

// flagName is f as a user types it: -o, --json.
func flagName(f *flag.Flag) string {
	if len(f.Name) == 1 {
		return "-" + f.Name
	}
	return "--" + f.Name
}

// wrap joins words into lines of at most width columns where it can, a bracketed group
// never split; the lines after the first start with indent.
func wrap(words []string, width int, indent string) string {
	var b strings.Builder
	line := ""
	for _, w := range words {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) > width && strings.TrimSpace(line) != "":
			b.WriteString(line + "\n")
			line = indent + w
		default:
			line += " " + w
		}
	}
	b.WriteString(line + "\n")
	return b.String()
}
