package render

import (
	"text/template/parse"
)

// Uses says which parts of the template data the parsed templates can
// reach, so the compiler builds only those: compose-go's typed model is by
// far the costliest part of a render.
type Uses struct {
	ServiceFields map[string]bool // .Service.<Field> referenced
	WholeService  bool            // .Service used as a value, or the data passed around
	Project       bool            // .Project referenced, or the data passed around

	rebound int // > 0 inside range/with bodies, where dot is not the data root
}

// Uses walks every parsed template. It is conservative: the data root
// given to a function (other than include), printed, or any use of tpl
// (whose text is unknown until it runs) counts as using everything.
func (e *Engine) Uses() Uses {
	u := Uses{ServiceFields: map[string]bool{}}
	for _, t := range e.root.Templates() {
		if t.Tree != nil && t.Tree.Root != nil {
			u.walk(t.Tree.Root)
		}
	}
	return u
}

func (u *Uses) all() { u.WholeService, u.Project = true, true }

func (u *Uses) fields(ident []string) {
	if len(ident) == 0 {
		return
	}
	switch ident[0] {
	case "Service":
		if len(ident) == 1 {
			u.WholeService = true
		} else {
			u.ServiceFields[ident[1]] = true
		}
	case "Project":
		u.Project = true
	}
}

func (u *Uses) walk(n parse.Node) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			u.walk(c)
		}
	case *parse.ActionNode:
		u.pipe(n.Pipe)
	case *parse.IfNode:
		u.branch(&n.BranchNode)
	case *parse.RangeNode:
		u.branch(&n.BranchNode)
	case *parse.WithNode:
		u.branch(&n.BranchNode)
	case *parse.TemplateNode:
		if n.Pipe != nil {
			for _, c := range n.Pipe.Cmds {
				u.command(c, true)
			}
		}
	case *parse.FieldNode:
		u.fields(n.Ident)
	case *parse.VariableNode:
		if len(n.Ident) > 0 && n.Ident[0] == "$" {
			if len(n.Ident) == 1 {
				u.all()
			} else {
				u.fields(n.Ident[1:])
			}
		}
	case *parse.ChainNode:
		u.walk(n.Node)
	case *parse.PipeNode:
		u.pipe(n)
	case *parse.DotNode:
		if u.rebound == 0 {
			u.all()
		}
	case *parse.IdentifierNode:
		if n.Ident == "tpl" {
			u.all()
		}
	}
}

func (u *Uses) branch(b *parse.BranchNode) {
	u.pipe(b.Pipe)
	if b.NodeType == parse.NodeIf {
		u.walk(b.List)
	} else {
		u.rebound++
		u.walk(b.List)
		u.rebound--
	}
	if b.ElseList != nil {
		u.walk(b.ElseList)
	}
}

func (u *Uses) pipe(p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		u.command(c, false)
	}
}

// command walks a command; the data root passed to include (or to a
// {{ template }} action) is fine, because the included template is
// walked too.
func (u *Uses) command(c *parse.CommandNode, passesData bool) {
	fn := ""
	if len(c.Args) > 0 {
		if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
			fn = id.Ident
		}
	}
	for _, a := range c.Args {
		isRoot := false
		switch a := a.(type) {
		case *parse.DotNode:
			isRoot = u.rebound == 0
		case *parse.VariableNode:
			isRoot = len(a.Ident) == 1 && a.Ident[0] == "$"
		}
		if isRoot && (fn == "include" || passesData) {
			continue
		}
		u.walk(a)
	}
}
