//! The body of a compiled lambda as a tree: `let` names substituted, calls to `let` lambdas
//! inlined, constants folded; what [`Lambda::body`](super::Lambda::body) shows and
//! [`Display`](std::fmt::Display) writes back as source text.

use super::run::bool_value;
use super::run::Fault;
use crate::ast::{BinaryOp, Span, UnaryOp};
use crate::diagnostic::text::write_number;
use std::collections::HashMap;
use std::fmt;

/// A resolved lambda body (`let` names substituted, calls to `let` lambdas inlined), stored
/// flat: every node after its operands in one vector, rather than a box per node (a large
/// file compiles tens of thousands of lambdas).
#[derive(Clone, Debug, Default)]
pub(super) struct Tree {
    pub(super) nodes: Vec<Node>,
    /// The arguments of every call: each call's are a run of node indices.
    pub(super) args: Vec<u32>,
    pub(super) root: u32,
    /// Where each node was written (in the `let` that defines it, for an inlined lambda's).
    pub(super) spans: Vec<Span>,
    /// The names of the local values (`let name = value in body`), by slot: `Node::Let` and
    /// `Node::Local` refer to them by index. Within one tree no two are the same (nor the
    /// parameter's), so that the body written back as text reads back as the same tree.
    pub(super) locals: Vec<Box<str>>,
    /// For the constants that folding made NaN or infinite from finite operands: the first
    /// operation that broke, in evaluation order, for [`Lambda::first_fault`]. Rare, so a map.
    ///
    /// [`Lambda::first_fault`]: super::Lambda::first_fault
    pub(super) faults: HashMap<u32, Fault>,
}

/// A node of a [`Tree`]; operands are indices of earlier nodes. An inlined `let` lambda refers
/// to its argument wherever its parameter appeared, so a node may be the operand of several:
/// every reader walks the tree as if each use had its own copy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Node {
    Number(f64),
    Bool(bool),
    Param,
    Unary(UnaryOp, u32),
    Binary(BinaryOp, u32, u32),
    If(u32, u32, u32),
    /// A call with the arguments `args[start..start + len]`: `Call(func, start, len)`.
    Call(Func, u32, u32),
    /// The local value in slot `slot` (`locals[slot]`).
    Local(u32),
    /// `let locals[slot] = value in body`: `Let(slot, value, body)`. The value is computed
    /// once, before the body, as Python computes an assignment before the statements after it.
    /// Every `Local(slot)` is inside `body` and after `value` in `nodes`.
    Let(u32, u32, u32),
}

impl Tree {
    pub(super) fn with_capacity(nodes: usize) -> Tree {
        Tree {
            nodes: Vec::with_capacity(nodes),
            spans: Vec::with_capacity(nodes),
            ..Tree::default()
        }
    }

    pub(super) fn push(&mut self, node: Node, span: Span, fault: Option<Fault>) -> u32 {
        self.nodes.push(node);
        self.spans.push(span);
        let id = (self.nodes.len() - 1) as u32;
        if let Some(fault) = fault {
            self.faults.insert(id, fault);
        }
        id
    }

    pub(super) fn fault(&self, id: u32) -> Option<Fault> {
        self.faults.get(&id).copied()
    }

    pub(super) fn node(&self, id: u32) -> Node {
        self.nodes[id as usize]
    }

    pub(super) fn at(&self, id: u32) -> NodeRef<'_> {
        NodeRef { tree: self, id }
    }

    pub(super) fn call_args(&self, start: u32, len: u32) -> &[u32] {
        &self.args[start as usize..(start + len) as usize]
    }

    /// The value of a constant node.
    pub(super) fn constant(&self, id: u32) -> Option<f64> {
        match self.node(id) {
            Node::Number(v) => Some(v),
            Node::Bool(b) => Some(bool_value(b)),
            _ => None,
        }
    }

    /// Renames local values so that no two share a name and none is called like the parameter
    /// or a constant (`pi`, `tau`): inlining a `let` lambda twice, or into a body that has a
    /// local of the same name, brings the same name in twice. The new name is the old one with
    /// `_2`, `_3`, ... after it, the first that is free.
    pub(super) fn unique_local_names(&mut self, param: &str) {
        let mut taken: std::collections::HashSet<Box<str>> =
            [param, "pi", "tau"].iter().map(|&n| n.into()).collect();
        let originals: std::collections::HashSet<Box<str>> = self.locals.iter().cloned().collect();
        for name in &mut self.locals {
            if taken.insert(name.clone()) {
                continue;
            }
            let fresh = (2..)
                .map(|k| format!("{name}_{k}").into_boxed_str())
                .find(|n| !taken.contains(n) && !originals.contains(n))
                .expect("some suffix is free");
            taken.insert(fresh.clone());
            *name = fresh;
        }
    }

    /// The tree under `root` alone, without the nodes folding left behind.
    pub(super) fn compact(&self, root: u32) -> Tree {
        let mut live = vec![false; self.nodes.len()];
        live[root as usize] = true;
        let mut count = 0;
        // Operands come before their node, so one backward pass marks everything under root.
        for id in (0..self.nodes.len()).rev() {
            if !live[id] {
                continue;
            }
            count += 1;
            match self.nodes[id] {
                Node::Number(_) | Node::Bool(_) | Node::Param | Node::Local(_) => {}
                Node::Unary(_, x) => live[x as usize] = true,
                Node::Binary(_, l, r) => {
                    live[l as usize] = true;
                    live[r as usize] = true;
                }
                Node::If(c, t, e) => {
                    for x in [c, t, e] {
                        live[x as usize] = true;
                    }
                }
                Node::Let(_, v, b) => {
                    live[v as usize] = true;
                    live[b as usize] = true;
                }
                Node::Call(_, start, len) => {
                    for &a in self.call_args(start, len) {
                        live[a as usize] = true;
                    }
                }
            }
        }
        let mut out = Tree::with_capacity(count);
        // The slots of the live `let`s, numbered again from 0 (folding drops some) in the order
        // their values were built, which is the order they are written in: an outer `let`
        // before those of the `let` lambdas its body inlines, so that its name is the one
        // kept if two are the same (`unique_local_names`). A live `Local` is inside the body
        // of its live `Let`.
        let mut lets: Vec<(u32, u32)> = (0..self.nodes.len())
            .filter(|&id| live[id])
            .filter_map(|id| match self.nodes[id] {
                Node::Let(s, v, _) => Some((v, s)),
                _ => None,
            })
            .collect();
        lets.sort_unstable();
        let mut slot = vec![u32::MAX; self.locals.len()];
        for (_, s) in lets {
            slot[s as usize] = out.locals.len() as u32;
            out.locals.push(self.locals[s as usize].clone());
        }
        let mut new_id = vec![0u32; self.nodes.len()];
        let at = |new_id: &[u32], x: u32| new_id[x as usize];
        for (id, &node) in self.nodes.iter().enumerate() {
            if !live[id] {
                continue;
            }
            let node = match node {
                Node::Number(_) | Node::Bool(_) | Node::Param => node,
                Node::Local(s) => Node::Local(slot[s as usize]),
                Node::Let(s, v, b) => Node::Let(slot[s as usize], at(&new_id, v), at(&new_id, b)),
                Node::Unary(op, x) => Node::Unary(op, at(&new_id, x)),
                Node::Binary(op, l, r) => Node::Binary(op, at(&new_id, l), at(&new_id, r)),
                Node::If(c, t, e) => Node::If(at(&new_id, c), at(&new_id, t), at(&new_id, e)),
                Node::Call(func, start, len) => {
                    let first = out.args.len() as u32;
                    for &a in self.call_args(start, len) {
                        out.args.push(at(&new_id, a));
                    }
                    Node::Call(func, first, len)
                }
            };
            new_id[id] = out.push(node, self.spans[id], self.fault(id as u32));
        }
        out.root = new_id[root as usize];
        out
    }
}

/// A node of a lambda's body (`Lambda::body`); [`NodeRef::kind`] says what it is.
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    pub(super) tree: &'a Tree,
    pub(super) id: u32,
}

/// What a [`NodeRef`] is, with its operands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NodeKind<'a> {
    Number(f64),
    Bool(bool),
    /// The lambda's parameter.
    Param,
    Unary(UnaryOp, NodeRef<'a>),
    Binary(BinaryOp, NodeRef<'a>, NodeRef<'a>),
    If(NodeRef<'a>, NodeRef<'a>, NodeRef<'a>),
    Call(Func, Args<'a>),
    /// A local value, by name (`c` in `let c = e // 10 in c * 2`).
    Local(&'a str),
    /// `let name = value in body`.
    Let {
        name: &'a str,
        value: NodeRef<'a>,
        body: NodeRef<'a>,
    },
}

/// The arguments of a call in a lambda's body.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    tree: &'a Tree,
    ids: &'a [u32],
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The `i`th argument, if there is one.
    pub fn get(&self, i: usize) -> Option<NodeRef<'a>> {
        let &id = self.ids.get(i)?;
        Some(self.tree.at(id))
    }

    pub fn iter(&self) -> impl Iterator<Item = NodeRef<'a>> + 'a {
        let tree = self.tree;
        self.ids.iter().map(move |&id| tree.at(id))
    }
}

impl fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Args<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind().fmt(f)
    }
}

/// Equal as trees: the same operations on the same operands.
impl PartialEq for NodeRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind()
    }
}

impl<'a> NodeRef<'a> {
    pub fn kind(self) -> NodeKind<'a> {
        let tree = self.tree;
        match tree.node(self.id) {
            Node::Number(v) => NodeKind::Number(v),
            Node::Bool(b) => NodeKind::Bool(b),
            Node::Param => NodeKind::Param,
            Node::Unary(op, x) => NodeKind::Unary(op, tree.at(x)),
            Node::Binary(op, l, r) => NodeKind::Binary(op, tree.at(l), tree.at(r)),
            Node::If(c, t, e) => NodeKind::If(tree.at(c), tree.at(t), tree.at(e)),
            Node::Call(func, start, len) => NodeKind::Call(
                func,
                Args {
                    tree,
                    ids: tree.call_args(start, len),
                },
            ),
            Node::Local(slot) => NodeKind::Local(&tree.locals[slot as usize]),
            Node::Let(slot, value, body) => NodeKind::Let {
                name: &tree.locals[slot as usize],
                value: tree.at(value),
                body: tree.at(body),
            },
        }
    }

    fn precedence(self) -> u8 {
        match self.kind() {
            NodeKind::If(..) | NodeKind::Let { .. } => 0,
            NodeKind::Binary(op, ..) => binary_precedence(op),
            NodeKind::Unary(UnaryOp::Not, _) => 3,
            NodeKind::Unary(UnaryOp::Neg, _) => 7,
            NodeKind::Number(v) if v < 0.0 => 7,
            _ => 9,
        }
    }

    /// Writes the node as source text, parenthesising where precedence needs it.
    pub(super) fn write(
        self,
        f: &mut fmt::Formatter<'_>,
        param: &str,
        min_prec: u8,
    ) -> fmt::Result {
        let prec = self.precedence();
        let parens = prec < min_prec;
        if parens {
            f.write_str("(")?;
        }
        match self.kind() {
            NodeKind::Number(v) => write_number(f, v)?,
            NodeKind::Bool(b) => write!(f, "{b}")?,
            NodeKind::Param => f.write_str(param)?,
            NodeKind::Local(name) => f.write_str(name)?,
            NodeKind::Let { name, value, body } => {
                write!(f, "let {name} = ")?;
                value.write(f, param, 0)?;
                f.write_str(" in ")?;
                body.write(f, param, 0)?;
            }
            NodeKind::Unary(UnaryOp::Neg, x) => {
                f.write_str("-")?;
                x.write(f, param, 7)?;
            }
            NodeKind::Unary(UnaryOp::Not, x) => {
                f.write_str("not ")?;
                x.write(f, param, 3)?;
            }
            NodeKind::Binary(op, l, r) => {
                let (lp, rp) = match op {
                    // Right-associative; the right side may be a unary minus.
                    BinaryOp::Pow => (prec + 1, 7),
                    // Comparisons do not chain.
                    op if op.is_comparison() => (prec + 1, prec + 1),
                    _ => (prec, prec + 1),
                };
                l.write(f, param, lp)?;
                write!(f, " {} ", op.symbol())?;
                r.write(f, param, rp)?;
            }
            NodeKind::If(c, t, e) => {
                f.write_str("if ")?;
                c.write(f, param, 1)?;
                f.write_str(" then ")?;
                t.write(f, param, 1)?;
                f.write_str(" else ")?;
                e.write(f, param, 0)?;
            }
            NodeKind::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    a.write(f, param, 0)?;
                }
                f.write_str(")")?;
            }
        }
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}

fn binary_precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And => 2,
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne => {
            4
        }
        BinaryOp::Add | BinaryOp::Sub => 5,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::FloorDiv | BinaryOp::Mod => 6,
        BinaryOp::Pow => 8,
    }
}

/// A math function usable inside a lambda.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Unary(UnaryFn),
    Min,
    Max,
    Clamp,
}

impl Func {
    pub const NAMES: &'static [&'static str] = &[
        "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "log2",
        "log10", "sqrt", "abs", "floor", "ceil", "round", "min", "max", "clamp",
    ];

    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "min" => Func::Min,
            "max" => Func::Max,
            "clamp" => Func::Clamp,
            other => Func::Unary(UnaryFn::from_name(other)?),
        })
    }

    /// The number of arguments it takes: `(min, max)`.
    pub fn arity(self) -> (usize, usize) {
        match self {
            Func::Unary(_) => (1, 1),
            Func::Min | Func::Max => (2, usize::MAX),
            Func::Clamp => (3, 3),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Unary(f) => f.name(),
            Func::Min => "min",
            Func::Max => "max",
            Func::Clamp => "clamp",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryFn {
    Neg,
    Not,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Exp,
    Log,
    Log2,
    Log10,
    Sqrt,
    Abs,
    Floor,
    Ceil,
    Round,
}

impl UnaryFn {
    pub(super) fn of(op: UnaryOp) -> UnaryFn {
        match op {
            UnaryOp::Neg => UnaryFn::Neg,
            UnaryOp::Not => UnaryFn::Not,
        }
    }

    pub(super) fn from_name(name: &str) -> Option<UnaryFn> {
        use UnaryFn::*;
        Some(match name {
            "sin" => Sin,
            "cos" => Cos,
            "tan" => Tan,
            "asin" => Asin,
            "acos" => Acos,
            "atan" => Atan,
            "sinh" => Sinh,
            "cosh" => Cosh,
            "tanh" => Tanh,
            "exp" => Exp,
            "log" => Log,
            "log2" => Log2,
            "log10" => Log10,
            "sqrt" => Sqrt,
            "abs" => Abs,
            "floor" => Floor,
            "ceil" => Ceil,
            "round" => Round,
            _ => return None,
        })
    }

    pub(super) fn name(self) -> &'static str {
        use UnaryFn::*;
        match self {
            Neg => "-",
            Not => "not",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Sinh => "sinh",
            Cosh => "cosh",
            Tanh => "tanh",
            Exp => "exp",
            Log => "log",
            Log2 => "log2",
            Log10 => "log10",
            Sqrt => "sqrt",
            Abs => "abs",
            Floor => "floor",
            Ceil => "ceil",
            Round => "round",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::expr::Lambda;

    #[test]
    fn bodies_are_written_back_with_the_parentheses_precedence_needs() {
        // Each reads back as itself: no parenthesis is lost or added.
        for text in [
            "e -> (e + 1) * 2 ** -e",
            "e -> (-e) ** 2 - (1 - e)",
            "e -> 2 ** 3 ** e",
            "e -> (2 ** e) ** 3",
            "e -> if e < 5 and not e == 2 then e / 5 else min(1, e // 3 % 2)",
            "e -> (if e < 5 then 1 else 2) * e",
            "e -> if (e < 1 or e > 2) and e < 3 then 1 else 0",
        ] {
            assert_eq!(Lambda::from_text(text).unwrap().to_string(), text);
        }
        // Redundant parentheses go (`**` binds tighter than unary minus, as in Python).
        let f = Lambda::from_text("e -> ((e) + (1)) * (sin((e))) - (e ** 2)").unwrap();
        assert_eq!(f.to_string(), "e -> (e + 1) * sin(e) - e ** 2");
        let f = Lambda::from_text("e -> -(e ** 2)").unwrap();
        assert_eq!(f.to_string(), "e -> -e ** 2");
    }

    #[test]
    fn a_compacted_tree_keeps_only_what_is_under_its_root() {
        // `1 + 2` and `3 * 4` fold away while the tree is built; compacting drops them.
        let f = Lambda::from_text("e -> e * (1 + 2) + 3 * 4").unwrap();
        assert_eq!(f.to_string(), "e -> e * 3 + 12");
        assert_eq!(f.body.nodes.len(), 5);
        assert_eq!(f.body.root as usize, f.body.nodes.len() - 1);
    }
}
