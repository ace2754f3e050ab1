//! Lambda bodies: type-checked once, compiled into a flat stack program that evaluates without
//! allocating.
//!
//! Arithmetic follows Python, because lambdas are ported from PyTorch code: `//` floors and `%`
//! takes the divisor's sign (CPython's `float_divmod`), `round` rounds half to even, `min`/`max`
//! keep the first of equal (or unordered) values. Where Python raises (division by zero, `log(0)`,
//! `sqrt(-1)`), optimc follows IEEE 754 and yields an infinity or NaN, which `optimc check` reports.

use crate::ast::{self, BinaryOp, ExprKind, Span, UnaryOp};
use crate::diagnostic::text::{did_you_mean, write_number};
use crate::diagnostic::{Code, Diagnostic};
use crate::limits::{MAX_INLINED_OPS, MAX_LAMBDA_OPS, MAX_STACK};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// What is left of [`MAX_INLINED_OPS`] while the lambdas of one file are compiled.
#[derive(Debug)]
pub struct InlineBudget(usize);

impl Default for InlineBudget {
    fn default() -> Self {
        InlineBudget(MAX_INLINED_OPS)
    }
}

/// A compiled one-parameter function `x -> expr`.
///
/// ```
/// let config = optimc::Config::from_source("lr.optim", "optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> 0.5 ** (e // 10))").unwrap();
/// let optimc::config::ScheduleConfig::Lambda { lr_lambda } = config.schedule.unwrap() else { unreachable!() };
/// assert_eq!(lr_lambda.eval(25.0), 0.25);
/// assert_eq!(lr_lambda.to_string(), "e -> 0.5 ** (e // 10)");
/// ```
#[derive(Clone)]
pub struct Lambda {
    // Shared, so that a clone (every schedule instance built from a config holds its lambdas)
    // copies three pointers instead of a tree and a program.
    param: Arc<str>,
    body: Arc<Tree>,
    code: Arc<[Op]>,
    /// The stack the program needs, which decides how [`Lambda::eval`] runs it.
    stack: Stack,
}

/// The stack size of the fast path of [`Lambda::eval`].
const SMALL_STACK: usize = 8;

/// How much stack a program needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    /// None: no operation pops a value pushed before the top (`Binary`, `Clamp`), so every
    /// push can simply replace the top. Most learning-rate lambdas (`0.95 ** e`,
    /// `min(1, (e + 1) / 10)`) are such chains.
    None,
    /// At most [`SMALL_STACK`] slots (nearly all the others).
    Small,
    /// Up to [`MAX_STACK`] slots.
    Large,
}

impl Stack {
    fn of(code: &[Op], max_depth: usize) -> Stack {
        if !code
            .iter()
            .any(|op| matches!(op, Op::Binary(_) | Op::Clamp))
        {
            Stack::None
        } else if max_depth <= SMALL_STACK {
            Stack::Small
        } else {
            Stack::Large
        }
    }
}

impl Lambda {
    /// Evaluates the function at `x`. Never allocates.
    #[inline]
    pub fn eval(&self, x: f64) -> f64 {
        match self.stack {
            Stack::None => self.run_without_stack(x),
            Stack::Small => self.run_small(x),
            Stack::Large => self.run_large(x),
        }
    }

    /// Runs a program whose stack is [`Stack::None`]: the top in a register, no stack to
    /// clear or store to, and a small frame (a schedule step that calls it saves about 3%).
    #[inline(never)]
    fn run_without_stack(&self, x: f64) -> f64 {
        let mut top = 0.0f64;
        let mut pc = 0usize;
        let code = &self.code[..];
        while let Some(&op) = code.get(pc) {
            pc += 1;
            match op {
                Op::Const(v) => top = v,
                Op::Param => top = x,
                Op::ParamBinaryConst(f, c) => top = f.apply(x, c),
                Op::Unary(f) => top = f.apply(top),
                Op::BinaryConst(f, c) => top = f.apply(top, c),
                Op::ConstBinary(f, c) => top = f.apply(c, top),
                // The value below the condition, which `run` would restore as the top, is
                // never used: every branch starts with a push, and nothing pops.
                Op::JumpIfFalse(target) => {
                    if top == 0.0 {
                        pc = target as usize;
                    }
                }
                Op::Jump(target) => pc = target as usize,
                // `Stack::of` leaves these to `run`.
                Op::Binary(_) | Op::Clamp => return f64::NAN,
            }
        }
        top
    }

    #[inline(never)]
    fn run_small(&self, x: f64) -> f64 {
        self.run::<SMALL_STACK>(x)
    }

    #[inline(never)]
    fn run_large(&self, x: f64) -> f64 {
        self.run::<MAX_STACK>(x)
    }

    /// Runs the program with a stack of `N >= depth` slots.
    #[inline(always)]
    fn run<const N: usize>(&self, x: f64) -> f64 {
        // The logical stack is `stack[..sp]` followed by `top`. The first push stores the
        // meaningless initial `top`, so a program of depth `d` uses `stack[..d]`.
        let mut stack = [0.0f64; N];
        let mut sp = 0usize;
        let mut top = 0.0f64;
        let mut pc = 0usize;
        let code = &self.code[..];
        while let Some(&op) = code.get(pc) {
            pc += 1;
            match op {
                Op::Const(v) => {
                    stack[sp] = top;
                    sp += 1;
                    top = v;
                }
                Op::Param => {
                    stack[sp] = top;
                    sp += 1;
                    top = x;
                }
                Op::ParamBinaryConst(f, c) => {
                    stack[sp] = top;
                    sp += 1;
                    top = f.apply(x, c);
                }
                Op::Unary(f) => top = f.apply(top),
                Op::BinaryConst(f, c) => top = f.apply(top, c),
                Op::ConstBinary(f, c) => top = f.apply(c, top),
                Op::Binary(f) => {
                    sp -= 1;
                    top = f.apply(stack[sp], top);
                }
                Op::Clamp => {
                    sp -= 2;
                    top = clamp(stack[sp], stack[sp + 1], top);
                }
                Op::JumpIfFalse(target) => {
                    let cond = top;
                    sp -= 1;
                    top = stack[sp];
                    if cond == 0.0 {
                        pc = target as usize;
                    }
                }
                Op::Jump(target) => pc = target as usize,
            }
        }
        top
    }

    /// How many operations one evaluation runs (at most [`MAX_LAMBDA_OPS`]).
    pub fn ops(&self) -> usize {
        self.code.len()
    }

    /// The parameter's name.
    pub fn param(&self) -> &str {
        &self.param
    }

    /// The body, with `let` constants substituted and calls to `let` lambdas inlined.
    pub fn body(&self) -> NodeRef<'_> {
        self.body.at(self.body.root)
    }

    /// Reads back a lambda written as text, such as `"e -> 0.95 ** e"` (what [`Display`](fmt::Display)
    /// prints). Only the parameter, numbers and math functions may appear.
    pub fn from_text(text: &str) -> Result<Lambda, Vec<Diagnostic>> {
        let expr = crate::parse::parse_expr(text)?;
        crate::limits::with_stack(crate::limits::PASS_STACK, || Lambda::from_expr(&expr))
    }

    fn from_expr(expr: &ast::Expr) -> Result<Lambda, Vec<Diagnostic>> {
        let ExprKind::Lambda { param, body } = &expr.unparen().kind else {
            return Err(vec![Diagnostic::error(
                Code::BadLambda,
                expr.span,
                "expected a lambda such as `e -> 0.95 ** e`",
            )
            .with_label("not a lambda")
            .with_help("write a function of the epoch, e.g. `e -> 0.95 ** e`")]);
        };
        let mut diags = Vec::new();
        match compile(param, body, &|_| Lookup::Undefined, &mut diags) {
            Some(lambda) if diags.is_empty() => Ok(lambda),
            _ => Err(diags),
        }
    }
}

impl PartialEq for Lambda {
    fn eq(&self, other: &Self) -> bool {
        self.param == other.param && self.body() == other.body()
    }
}

impl fmt::Debug for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lambda({self})")
    }
}

impl fmt::Display for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> ", self.param)?;
        self.body().write(f, &self.param, 0)
    }
}

impl Serialize for Lambda {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lambda {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Lambda::from_text(&text).map_err(|diags| {
            let why = diags.first().map(|d| d.message.clone()).unwrap_or_default();
            serde::de::Error::custom(format!("invalid lambda `{text}`: {why}"))
        })
    }
}

/// A resolved lambda body (`let` names substituted, calls to `let` lambdas inlined), stored
/// flat: every node after its operands in one vector, rather than a box per node (a large
/// file compiles tens of thousands of lambdas).
#[derive(Clone, Debug, Default)]
struct Tree {
    nodes: Vec<Node>,
    /// The arguments of every call: each call's are a run of node indices.
    args: Vec<u32>,
    root: u32,
}

/// A node of a [`Tree`]; operands are indices of earlier nodes. An inlined `let` lambda refers
/// to its argument wherever its parameter appeared, so a node may be the operand of several:
/// every reader walks the tree as if each use had its own copy.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Node {
    Number(f64),
    Bool(bool),
    Param,
    Unary(UnaryOp, u32),
    Binary(BinaryOp, u32, u32),
    If(u32, u32, u32),
    /// A call with the arguments `args[start..start + len]`: `Call(func, start, len)`.
    Call(Func, u32, u32),
}

impl Tree {
    fn with_capacity(nodes: usize) -> Tree {
        Tree {
            nodes: Vec::with_capacity(nodes),
            ..Tree::default()
        }
    }

    fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    fn node(&self, id: u32) -> Node {
        self.nodes[id as usize]
    }

    fn at(&self, id: u32) -> NodeRef<'_> {
        NodeRef { tree: self, id }
    }

    fn call_args(&self, start: u32, len: u32) -> &[u32] {
        &self.args[start as usize..(start + len) as usize]
    }

    /// The value of a constant node.
    fn constant(&self, id: u32) -> Option<f64> {
        match self.node(id) {
            Node::Number(v) => Some(v),
            Node::Bool(b) => Some(bool_value(b)),
            _ => None,
        }
    }

    /// The tree under `root` alone, without the nodes folding left behind.
    fn compact(&self, root: u32) -> Tree {
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
                Node::Number(_) | Node::Bool(_) | Node::Param => {}
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
                Node::Call(_, start, len) => {
                    for &a in self.call_args(start, len) {
                        live[a as usize] = true;
                    }
                }
            }
        }
        let mut out = Tree::with_capacity(count);
        let mut new_id = vec![0u32; self.nodes.len()];
        let at = |new_id: &[u32], x: u32| new_id[x as usize];
        for (id, &node) in self.nodes.iter().enumerate() {
            if !live[id] {
                continue;
            }
            let node = match node {
                Node::Number(_) | Node::Bool(_) | Node::Param => node,
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
            new_id[id] = out.push(node);
        }
        out.root = new_id[root as usize];
        out
    }
}

/// A node of a lambda's body ([`Lambda::body`]); [`NodeRef::kind`] says what it is.
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    tree: &'a Tree,
    id: u32,
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
        }
    }

    fn precedence(self) -> u8 {
        match self.kind() {
            NodeKind::If(..) => 0,
            NodeKind::Binary(op, ..) => binary_precedence(op),
            NodeKind::Unary(UnaryOp::Not, _) => 3,
            NodeKind::Unary(UnaryOp::Neg, _) => 7,
            NodeKind::Number(v) if v < 0.0 => 7,
            _ => 9,
        }
    }

    /// Writes the node as source text, parenthesising where precedence needs it.
    fn write(self, f: &mut fmt::Formatter<'_>, param: &str, min_prec: u8) -> fmt::Result {
        let prec = self.precedence();
        let parens = prec < min_prec;
        if parens {
            f.write_str("(")?;
        }
        match self.kind() {
            NodeKind::Number(v) => write_number(f, v)?,
            NodeKind::Bool(b) => write!(f, "{b}")?,
            NodeKind::Param => f.write_str(param)?,
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

    /// Applies the function to constant arguments (arity already checked).
    pub fn apply(self, args: &[f64]) -> f64 {
        match self {
            Func::Unary(f) => f.apply(args[0]),
            Func::Min => args[1..].iter().fold(args[0], |a, &b| python_min(a, b)),
            Func::Max => args[1..].iter().fold(args[0], |a, &b| python_max(a, b)),
            Func::Clamp => clamp(args[0], args[1], args[2]),
        }
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
    fn of(op: UnaryOp) -> UnaryFn {
        match op {
            UnaryOp::Neg => UnaryFn::Neg,
            UnaryOp::Not => UnaryFn::Not,
        }
    }

    fn from_name(name: &str) -> Option<UnaryFn> {
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

    fn name(self) -> &'static str {
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

    #[inline]
    fn apply(self, x: f64) -> f64 {
        use UnaryFn::*;
        match self {
            Neg => -x,
            Not => bool_value(x == 0.0),
            Sin => x.sin(),
            Cos => x.cos(),
            Tan => x.tan(),
            Asin => x.asin(),
            Acos => x.acos(),
            Atan => x.atan(),
            Sinh => x.sinh(),
            Cosh => x.cosh(),
            Tanh => x.tanh(),
            Exp => x.exp(),
            Log => x.ln(),
            Log2 => x.log2(),
            Log10 => x.log10(),
            Sqrt => x.sqrt(),
            Abs => x.abs(),
            Floor => x.floor(),
            Ceil => x.ceil(),
            Round => x.round_ties_even(),
        }
    }
}

/// A binary operation of the compiled program: an operator or `min` / `max`, flat so that the
/// evaluator dispatches once per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BinaryFn {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Min,
    Max,
}

impl BinaryFn {
    fn of(op: BinaryOp) -> BinaryFn {
        match op {
            BinaryOp::Add => BinaryFn::Add,
            BinaryOp::Sub => BinaryFn::Sub,
            BinaryOp::Mul => BinaryFn::Mul,
            BinaryOp::Div => BinaryFn::Div,
            BinaryOp::FloorDiv => BinaryFn::FloorDiv,
            BinaryOp::Mod => BinaryFn::Mod,
            BinaryOp::Pow => BinaryFn::Pow,
            BinaryOp::Lt => BinaryFn::Lt,
            BinaryOp::Le => BinaryFn::Le,
            BinaryOp::Gt => BinaryFn::Gt,
            BinaryOp::Ge => BinaryFn::Ge,
            BinaryOp::Eq => BinaryFn::Eq,
            BinaryOp::Ne => BinaryFn::Ne,
            BinaryOp::And => BinaryFn::And,
            BinaryOp::Or => BinaryFn::Or,
        }
    }

    /// The same results as [`binary`] (and `min` / `max`), operator by operator.
    #[inline(always)]
    fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            BinaryFn::Add => a + b,
            BinaryFn::Sub => a - b,
            BinaryFn::Mul => a * b,
            BinaryFn::Div => a / b,
            BinaryFn::FloorDiv => python_floordiv(a, b),
            BinaryFn::Mod => python_mod(a, b),
            BinaryFn::Pow => a.powf(b),
            BinaryFn::Lt => bool_value(a < b),
            BinaryFn::Le => bool_value(a <= b),
            BinaryFn::Gt => bool_value(a > b),
            BinaryFn::Ge => bool_value(a >= b),
            BinaryFn::Eq => bool_value(a == b),
            BinaryFn::Ne => bool_value(a != b),
            BinaryFn::And => bool_value(a != 0.0 && b != 0.0),
            BinaryFn::Or => bool_value(a != 0.0 || b != 0.0),
            BinaryFn::Min => python_min(a, b),
            BinaryFn::Max => python_max(a, b),
        }
    }
}

fn bool_value(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// One binary operator with Python's float semantics.
pub fn binary(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::FloorDiv => python_floordiv(a, b),
        BinaryOp::Mod => python_mod(a, b),
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Lt => bool_value(a < b),
        BinaryOp::Le => bool_value(a <= b),
        BinaryOp::Gt => bool_value(a > b),
        BinaryOp::Ge => bool_value(a >= b),
        BinaryOp::Eq => bool_value(a == b),
        BinaryOp::Ne => bool_value(a != b),
        BinaryOp::And => bool_value(a != 0.0 && b != 0.0),
        BinaryOp::Or => bool_value(a != 0.0 || b != 0.0),
    }
}

/// Python's `a // b` for floats (CPython `float_floor_div`); NaN where Python raises.
pub fn python_floordiv(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return f64::NAN;
    }
    let m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let mut floordiv = div.floor();
        if div - floordiv > 0.5 {
            floordiv += 1.0;
        }
        floordiv
    } else {
        0.0f64.copysign(a / b)
    }
}

/// Python's `a % b` for floats (CPython `float_rem`): the result takes the divisor's sign.
pub fn python_mod(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return f64::NAN;
    }
    let mut m = a % b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
        }
    } else {
        m = 0.0f64.copysign(b);
    }
    m
}

/// Python's `min(a, b)`: `b` replaces `a` only if `b < a`.
fn python_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python's `max(a, b)`: `b` replaces `a` only if `b > a`.
fn python_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    python_min(python_max(x, lo), hi)
}

/// One operation of the compiled program, which works on a stack whose top is kept in a
/// register. Constant operands are folded into the operation that uses them, so that
/// `(e + 1) / 10` is two operations, not five.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    /// Push a constant.
    Const(f64),
    /// Push the parameter.
    Param,
    /// `top = f(top)`.
    Unary(UnaryFn),
    /// `b = pop; top = f(top, b)`.
    Binary(BinaryFn),
    /// `top = f(top, c)`.
    BinaryConst(BinaryFn, f64),
    /// `top = f(c, top)`.
    ConstBinary(BinaryFn, f64),
    /// Push `f(x, c)` for the parameter `x`.
    ParamBinaryConst(BinaryFn, f64),
    /// `hi = pop; lo = pop; top = clamp(top, lo, hi)`.
    Clamp,
    /// Pop; jump if it is false (0).
    JumpIfFalse(u32),
    Jump(u32),
}

/// What a name means to the lambda compiler, as the checker's scope answers it.
pub enum Lookup {
    Number(f64),
    Bool(bool),
    Lambda(Lambda),
    /// Defined, but of a type a lambda cannot use (e.g. a schedule or a string); the text names it.
    Other(&'static str),
    /// Defined by a later `let`.
    Later(Span),
    /// The `let` (defined at the span) whose value is being compiled: it cannot use itself.
    Itself(Span),
    /// A `let` whose value had errors, already reported: its uses report nothing more.
    Poisoned,
    Undefined,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Number,
    Bool,
}

impl Ty {
    fn describe(self) -> &'static str {
        match self {
            Ty::Number => "a number",
            Ty::Bool => "a boolean",
        }
    }
}

/// Type-checks and compiles `param -> body`. Names other than the parameter, `pi`, `tau` and
/// the math functions are asked of `lookup`. Problems go to `diags`; `None` if there were any.
pub fn compile(
    param: &ast::Ident,
    body: &ast::Expr,
    lookup: &dyn Fn(&str) -> Lookup,
    diags: &mut Vec<Diagnostic>,
) -> Option<Lambda> {
    compile_within(param, body, lookup, diags, &mut InlineBudget::default())
}

/// [`compile`], with the `let` lambdas it inlines counted against `budget`, which the lambdas
/// of one file share.
pub fn compile_within(
    param: &ast::Ident,
    body: &ast::Expr,
    lookup: &dyn Fn(&str) -> Lookup,
    diags: &mut Vec<Diagnostic>,
    budget: &mut InlineBudget,
) -> Option<Lambda> {
    let before = diags.len();
    let mut compiler = Compiler {
        param: &param.name,
        lookup,
        diags,
        budget,
        // About one node per four bytes of source (the tree is compacted at the end), within
        // what a lambda may have.
        tree: Tree::with_capacity((body.span.len() / 4 + 4).min(MAX_LAMBDA_OPS)),
        operands: Vec::new(),
    };
    let (root, ty) = compiler.node(body)?;
    if ty != Ty::Number {
        compiler.diags.push(
            Diagnostic::error(
                Code::TypeMismatch,
                body.span,
                "a lambda must return a number, but this returns a boolean",
            )
            .with_label("this is a condition")
            .with_help("use `if condition then a else b` to pick a number"),
        );
        return None;
    }
    if compiler.diags.len() > before {
        return None;
    }
    let tree = compiler.tree.compact(root);
    let mut code = Vec::with_capacity(tree.nodes.len());
    let mut depth = 0;
    let mut max_depth = 0;
    emit(&tree, tree.root, &mut code, &mut depth, &mut max_depth);
    if code.len() > MAX_LAMBDA_OPS {
        compiler.diags.push(
            Diagnostic::error(
                Code::TooLarge,
                body.span,
                format!(
                    "this lambda has {} operations once `let` lambdas are inlined; the limit is {MAX_LAMBDA_OPS}",
                    code.len()
                ),
            )
            .with_label("too large")
            .with_help("a learning-rate function needs far fewer; simplify it"),
        );
        return None;
    }
    if max_depth > MAX_STACK {
        compiler.diags.push(
            Diagnostic::error(
                Code::TooLarge,
                body.span,
                format!("this lambda is too deeply nested to evaluate (it needs {max_depth} stack slots, the limit is {MAX_STACK})"),
            )
            .with_label("nested too deeply")
            .with_help("split the expression with `let` lambdas or simplify it"),
        );
        return None;
    }
    Some(Lambda {
        param: param.name.as_str().into(),
        body: Arc::new(tree),
        stack: Stack::of(&code, max_depth),
        code: code.into(),
    })
}

struct Compiler<'a> {
    param: &'a str,
    lookup: &'a dyn Fn(&str) -> Lookup,
    diags: &'a mut Vec<Diagnostic>,
    budget: &'a mut InlineBudget,
    /// The nodes built so far (folding leaves some unused behind).
    tree: Tree,
    /// The arguments of the calls being compiled, until each call takes its own.
    operands: Vec<u32>,
}

impl Compiler<'_> {
    /// Adds `node` (its operands already added), folded to a constant if they all are.
    fn add(&mut self, node: Node) -> u32 {
        let node = fold(&self.tree, node);
        self.tree.push(node)
    }

    fn expect(&mut self, e: &ast::Expr, want: Ty) -> Option<u32> {
        let (node, ty) = self.node(e)?;
        if ty != want {
            let help = match want {
                Ty::Number => "arithmetic needs numbers; use `if condition then a else b` to turn a condition into a number",
                Ty::Bool => "conditions need a comparison such as `e < 10`",
            };
            self.diags.push(
                Diagnostic::error(
                    Code::TypeMismatch,
                    e.span,
                    format!("expected {}, found {}", want.describe(), ty.describe()),
                )
                .with_label(format!("this is {}", ty.describe()))
                .with_help(help),
            );
            return None;
        }
        Some(node)
    }

    fn node(&mut self, e: &ast::Expr) -> Option<(u32, Ty)> {
        match &e.kind {
            ExprKind::Number(v) => Some((self.add(Node::Number(*v)), Ty::Number)),
            ExprKind::Bool(b) => Some((self.add(Node::Bool(*b)), Ty::Bool)),
            ExprKind::Paren(inner) => self.node(inner),
            ExprKind::Name(name) => self.name(name, e.span),
            ExprKind::Unary { op, operand } => {
                let want = match op {
                    UnaryOp::Neg => Ty::Number,
                    UnaryOp::Not => Ty::Bool,
                };
                let x = self.expect(operand, want)?;
                Some((self.add(Node::Unary(*op, x)), want))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let operand = if op.is_logical() {
                    Ty::Bool
                } else {
                    Ty::Number
                };
                let l = self.expect(lhs, operand);
                let r = self.expect(rhs, operand);
                let result = if op.is_logical() || op.is_comparison() {
                    Ty::Bool
                } else {
                    Ty::Number
                };
                Some((self.add(Node::Binary(*op, l?, r?)), result))
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expect(cond, Ty::Bool);
                let t = self.node(then);
                let o = self.node(otherwise);
                let ((t, tt), (o, ot)) = (t?, o?);
                if tt != ot {
                    self.diags.push(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            otherwise.span,
                            format!(
                                "the two branches of `if` differ: {} and {}",
                                tt.describe(),
                                ot.describe()
                            ),
                        )
                        .with_label(format!("this is {}", ot.describe()))
                        .with_related(then.span, format!("this is {}", tt.describe()))
                        .with_help("both branches must give a number"),
                    );
                    return None;
                }
                Some((self.add(Node::If(c?, t, o)), tt))
            }
            ExprKind::Call(call) => self.call(call),
            ExprKind::Lambda { .. } => {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadLambda,
                        e.span,
                        "a lambda cannot contain another lambda",
                    )
                    .with_label("inner lambda")
                    .with_help(
                        "define the inner function with `let f = x -> ...` and call it as `f(...)`",
                    ),
                );
                None
            }
            ExprKind::String(_) | ExprKind::List(_) | ExprKind::Tuple(_) => {
                let what = match &e.kind {
                    ExprKind::String(_) => "a string",
                    ExprKind::List(_) => "a list",
                    _ => "a tuple",
                };
                self.diags.push(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        e.span,
                        format!("{what} cannot be used inside a lambda"),
                    )
                    .with_label("not a number")
                    .with_help("lambda bodies compute a number from the epoch"),
                );
                None
            }
        }
    }

    fn name(&mut self, name: &str, span: Span) -> Option<(u32, Ty)> {
        if name == self.param {
            return Some((self.add(Node::Param), Ty::Number));
        }
        match name {
            "pi" => return Some((self.add(Node::Number(std::f64::consts::PI)), Ty::Number)),
            "tau" => return Some((self.add(Node::Number(std::f64::consts::TAU)), Ty::Number)),
            _ => {}
        }
        match (self.lookup)(name) {
            Lookup::Number(v) => Some((self.add(Node::Number(v)), Ty::Number)),
            Lookup::Bool(b) => Some((self.add(Node::Bool(b)), Ty::Bool)),
            Lookup::Lambda(_) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        span,
                        format!("`{name}` is a lambda; call it to get a number"),
                    )
                    .with_label("a lambda, not a number")
                    .with_help(format!("write `{name}({})`", self.param)),
                );
                None
            }
            Lookup::Other(what) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        span,
                        format!("`{name}` is {what}, which cannot be used inside a lambda"),
                    )
                    .with_label(format!("{what}, not a number"))
                    .with_help("lambda bodies may use numbers, the parameter and math functions"),
                );
                None
            }
            Lookup::Later(def) => {
                self.diags.push(used_before_definition(name, span, def));
                None
            }
            Lookup::Itself(def) => {
                self.diags.push(refers_to_itself(name, span, def, false));
                None
            }
            Lookup::Poisoned => None,
            Lookup::Undefined => {
                let mut candidates: Vec<&str> = vec![self.param, "pi", "tau"];
                candidates.extend(Func::NAMES);
                let mut d = Diagnostic::error(
                    Code::UndefinedName,
                    span,
                    format!("`{name}` is not defined"),
                )
                .with_label("unknown name");
                d = match did_you_mean(name, candidates.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!(
                        "inside this lambda the epoch is called `{}`; other names must be defined with `let` first",
                        self.param
                    )),
                };
                self.diags.push(d);
                None
            }
        }
    }

    fn call(&mut self, call: &ast::Call) -> Option<(u32, Ty)> {
        let name = &call.name.name;
        if let Some(arg) = call.args.iter().find(|a| a.name.is_some()) {
            self.diags.push(
                Diagnostic::error(
                    Code::BadArgumentOrder,
                    arg.span(),
                    format!("`{name}` takes no named arguments inside a lambda"),
                )
                .with_label("named argument")
                .with_help("pass the values by position"),
            );
            return None;
        }
        if let Some(func) = Func::from_name(name) {
            if let Some(d) = arity_error(func, call) {
                self.diags.push(d);
                return None;
            }
            // Every argument is compiled (and its errors reported) before giving up.
            let mark = self.operands.len();
            let mut all = true;
            for a in &call.args {
                match self.expect(&a.value, Ty::Number) {
                    Some(id) => self.operands.push(id),
                    None => all = false,
                }
            }
            if !all {
                self.operands.truncate(mark);
                return None;
            }
            let start = self.tree.args.len() as u32;
            self.tree.args.extend(self.operands.drain(mark..));
            let len = call.args.len() as u32;
            return Some((self.add(Node::Call(func, start, len)), Ty::Number));
        }
        match (self.lookup)(name) {
            Lookup::Lambda(lambda) => {
                if call.args.len() != 1 {
                    self.diags.push(
                        Diagnostic::error(
                            Code::WrongArity,
                            call.span,
                            format!(
                                "`{name}` takes 1 argument, but {} were given",
                                call.args.len()
                            ),
                        )
                        .with_label(format!("{} arguments", call.args.len()))
                        .with_help(format!("call it as `{name}({})`", self.param)),
                    );
                    return None;
                }
                let arg = self.expect(&call.args[0].value, Ty::Number)?;
                self.inline(&lambda, arg, call.span)
            }
            lookup @ (Lookup::Later(_) | Lookup::Itself(_) | Lookup::Poisoned) => {
                // The arguments' own mistakes are still worth reporting.
                for a in &call.args {
                    let _ = self.node(&a.value);
                }
                match lookup {
                    Lookup::Later(def) => {
                        self.diags
                            .push(used_before_definition(name, call.name.span, def))
                    }
                    Lookup::Itself(def) => {
                        self.diags
                            .push(refers_to_itself(name, call.name.span, def, true))
                    }
                    _ => {}
                }
                None
            }
            _ => {
                let mut d = Diagnostic::error(
                    Code::UnknownFunction,
                    call.name.span,
                    format!("there is no function `{name}`"),
                )
                .with_label("unknown function");
                d = match did_you_mean(name, Func::NAMES.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!(
                        "lambdas may call {} and `let` lambdas",
                        Func::NAMES.join(", ")
                    )),
                };
                self.diags.push(d);
                None
            }
        }
    }
}

/// The diagnostic for calling `func` with the wrong number of arguments, if it is.
impl Compiler<'_> {
    /// `lambda`'s body with `arg` for its parameter, if the result stays within the limits on
    /// size ([`MAX_LAMBDA_OPS`], [`MAX_INLINED_OPS`]) and depth ([`MAX_TREE_DEPTH`]), which are
    /// checked before it is built.
    ///
    /// [`MAX_TREE_DEPTH`]: crate::limits::MAX_TREE_DEPTH
    fn inline(&mut self, lambda: &Lambda, arg: u32, span: Span) -> Option<(u32, Ty)> {
        let body = Shape::of(lambda.body());
        let arg_shape = Shape::of(self.tree.at(arg));
        let size = body
            .nodes
            .saturating_add(body.params.saturating_mul(arg_shape.nodes));
        let depth = body.depth + arg_shape.depth;
        let problem = if size > MAX_LAMBDA_OPS {
            Some(format!("inlining this call makes a lambda of about {size} operations; the limit is {MAX_LAMBDA_OPS}"))
        } else if size > self.budget.0 {
            Some(format!(
                "the lambdas of this file inline more than {MAX_INLINED_OPS} operations in all"
            ))
        } else if depth > crate::limits::MAX_TREE_DEPTH {
            Some(format!(
                "inlining this call nests the lambda more than {} levels deep",
                crate::limits::MAX_TREE_DEPTH
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            self.diags.push(
                Diagnostic::error(Code::TooLarge, span, message)
                    .with_label("too large to inline")
                    .with_help("`let` lambdas are inlined where they are called; call them fewer times, or write the function more simply"),
            );
            return None;
        }
        self.budget.0 -= size;
        Some((self.substitute(&lambda.body, arg), Ty::Number))
    }

    /// Adds `body` with `arg` (a node already added) for its parameter, folding what becomes
    /// constant; returns its root.
    fn substitute(&mut self, body: &Tree, arg: u32) -> u32 {
        let mut new_id: Vec<u32> = Vec::with_capacity(body.nodes.len());
        for &node in &body.nodes {
            let at = |x: u32| new_id[x as usize];
            let id = match node {
                Node::Param => arg,
                Node::Number(_) | Node::Bool(_) => self.add(node),
                Node::Unary(op, x) => self.add(Node::Unary(op, at(x))),
                Node::Binary(op, l, r) => self.add(Node::Binary(op, at(l), at(r))),
                Node::If(c, t, e) => self.add(Node::If(at(c), at(t), at(e))),
                Node::Call(func, start, len) => {
                    let first = self.tree.args.len() as u32;
                    for &a in body.call_args(start, len) {
                        self.tree.args.push(at(a));
                    }
                    self.add(Node::Call(func, first, len))
                }
            };
            new_id.push(id);
        }
        new_id[body.root as usize]
    }
}

/// The size of a lambda body, measured without recursion.
struct Shape {
    nodes: usize,
    depth: usize,
    /// How many times the parameter appears.
    params: usize,
}

impl Shape {
    /// As a tree: an operand used twice counts twice.
    fn of(node: NodeRef<'_>) -> Shape {
        let mut shape = Shape {
            nodes: 0,
            depth: 0,
            params: 0,
        };
        let tree = node.tree;
        let mut stack = vec![(node.id, 1usize)];
        while let Some((id, d)) = stack.pop() {
            shape.nodes += 1;
            shape.depth = shape.depth.max(d);
            match tree.node(id) {
                Node::Number(_) | Node::Bool(_) => {}
                Node::Param => shape.params += 1,
                Node::Unary(_, x) => stack.push((x, d + 1)),
                Node::Binary(_, l, r) => stack.extend([(l, d + 1), (r, d + 1)]),
                Node::If(c, t, e) => stack.extend([(c, d + 1), (t, d + 1), (e, d + 1)]),
                Node::Call(_, start, len) => {
                    stack.extend(tree.call_args(start, len).iter().map(|&a| (a, d + 1)))
                }
            }
        }
        shape
    }
}

/// `name` used (at `span`) above the `let` that defines it (at `def`).
pub(crate) fn used_before_definition(name: &str, span: Span, def: Span) -> Diagnostic {
    Diagnostic::error(
        Code::UsedBeforeDefinition,
        span,
        format!("`{name}` is used before it is defined"),
    )
    .with_label("used here")
    .with_related(def, "defined here")
    .with_help(format!("move `let {name} = ...` above its first use"))
}

/// `name` used (at `span`) inside the value of its own `let` (at `def`); `called` if it is
/// called, as a recursive function would be.
pub(crate) fn refers_to_itself(name: &str, span: Span, def: Span, called: bool) -> Diagnostic {
    let help = if called {
        "a `let` lambda cannot call itself (there is no recursion); write the function in closed form, e.g. `e -> 0.95 ** e` instead of `e -> 0.95 * f(e - 1)`".to_string()
    } else {
        format!("a `let` is defined by its value, which cannot use it; compute `{name}` from numbers and earlier `let`s")
    };
    Diagnostic::error(
        Code::UsedBeforeDefinition,
        span,
        format!("`let {name}` cannot refer to itself"),
    )
    .with_label(if called {
        "calls itself"
    } else {
        "refers to itself"
    })
    .with_related(def, "defined here")
    .with_help(help)
}

pub(crate) fn arity_error(func: Func, call: &ast::Call) -> Option<Diagnostic> {
    let (min, max) = func.arity();
    let n = call.args.len();
    if (min..=max).contains(&n) {
        return None;
    }
    let (wants, help) = match func {
        Func::Unary(f) => (
            "exactly 1 argument",
            format!("write e.g. `{}(e)`", f.name()),
        ),
        Func::Min | Func::Max => (
            "at least 2 arguments",
            format!(
                "`{}` compares two or more numbers, e.g. `{}(1, (e + 1) / 5)`",
                func.name(),
                func.name()
            ),
        ),
        Func::Clamp => ("3 arguments", "write `clamp(x, lo, hi)`".to_string()),
    };
    Some(
        Diagnostic::error(
            Code::WrongArity,
            call.span,
            format!(
                "`{}` takes {wants}, but {n} {} given",
                func.name(),
                if n == 1 { "was" } else { "were" }
            ),
        )
        .with_label(format!("{n} argument{}", if n == 1 { "" } else { "s" }))
        .with_help(help),
    )
}

/// `node` as a constant if every operand (in `tree`) is one, computed with the evaluator's own
/// operations (so exactly as evaluation would). Nodes are folded as they are added, operands
/// first, which folds every constant subtree in one step per node.
fn fold(tree: &Tree, node: Node) -> Node {
    let c = |id: u32| tree.constant(id);
    let value = match node {
        Node::Unary(op, x) => c(x).map(|x| UnaryFn::of(op).apply(x)),
        Node::Binary(op, l, r) => c(l).zip(c(r)).map(|(l, r)| BinaryFn::of(op).apply(l, r)),
        Node::If(cond, t, e) => match (c(cond), c(t), c(e)) {
            // What `JumpIfFalse` decides.
            (Some(cond), Some(t), Some(e)) => Some(if cond == 0.0 { e } else { t }),
            _ => None,
        },
        Node::Call(func, start, len) => tree
            .call_args(start, len)
            .iter()
            .map(|&a| c(a))
            .collect::<Option<Vec<f64>>>()
            .map(|values| func.apply(&values)),
        Node::Number(_) | Node::Bool(_) | Node::Param => None,
    };
    match value {
        Some(v) if is_bool(tree, node) => Node::Bool(v != 0.0),
        Some(v) => Node::Number(v),
        None => node,
    }
}

fn is_bool(tree: &Tree, node: Node) -> bool {
    match node {
        Node::Bool(_) => true,
        Node::Unary(UnaryOp::Not, _) => true,
        Node::Binary(op, ..) => op.is_comparison() || op.is_logical(),
        Node::If(_, t, _) => is_bool(tree, tree.node(t)),
        _ => false,
    }
}

fn push(depth: &mut usize, max: &mut usize) {
    *depth += 1;
    *max = (*max).max(*depth);
}

/// Emits `f(l, r)`, folding a constant operand (or a parameter with a constant) into the
/// operation. Operands keep their order, so non-commutative and NaN-sensitive operations
/// (`min`, `max`, comparisons) give the same results as the plain stack program.
fn emit_binary(
    f: BinaryFn,
    tree: &Tree,
    (l, r): (u32, u32),
    code: &mut Vec<Op>,
    depth: &mut usize,
    max: &mut usize,
) {
    match (tree.node(l), tree.constant(l), tree.constant(r)) {
        (Node::Param, _, Some(c)) => {
            code.push(Op::ParamBinaryConst(f, c));
            push(depth, max);
        }
        (_, Some(c), None) => {
            emit(tree, r, code, depth, max);
            code.push(Op::ConstBinary(f, c));
        }
        _ => {
            emit(tree, l, code, depth, max);
            emit_operand(f, tree, r, code, depth, max);
        }
    }
}

/// Emits `top = f(top, r)` for the value already on the stack.
fn emit_operand(
    f: BinaryFn,
    tree: &Tree,
    r: u32,
    code: &mut Vec<Op>,
    depth: &mut usize,
    max: &mut usize,
) {
    match tree.constant(r) {
        Some(c) => code.push(Op::BinaryConst(f, c)),
        None => {
            emit(tree, r, code, depth, max);
            code.push(Op::Binary(f));
            *depth -= 1;
        }
    }
}

fn emit(tree: &Tree, id: u32, code: &mut Vec<Op>, depth: &mut usize, max: &mut usize) {
    match tree.node(id) {
        Node::Number(v) => {
            code.push(Op::Const(v));
            push(depth, max);
        }
        Node::Bool(b) => {
            code.push(Op::Const(bool_value(b)));
            push(depth, max);
        }
        Node::Param => {
            code.push(Op::Param);
            push(depth, max);
        }
        Node::Unary(op, x) => {
            emit(tree, x, code, depth, max);
            code.push(Op::Unary(UnaryFn::of(op)));
        }
        Node::Binary(op, l, r) => emit_binary(BinaryFn::of(op), tree, (l, r), code, depth, max),
        Node::If(c, t, e) => {
            emit(tree, c, code, depth, max);
            let jump_if_false = code.len();
            code.push(Op::JumpIfFalse(0));
            *depth -= 1;
            emit(tree, t, code, depth, max);
            let jump = code.len();
            code.push(Op::Jump(0));
            *depth -= 1;
            let else_start = code.len() as u32;
            emit(tree, e, code, depth, max);
            let end = code.len() as u32;
            code[jump_if_false] = Op::JumpIfFalse(else_start);
            code[jump] = Op::Jump(end);
        }
        Node::Call(func, start, len) => {
            let args = tree.call_args(start, len);
            match func {
                Func::Unary(f) => {
                    emit(tree, args[0], code, depth, max);
                    code.push(Op::Unary(f));
                }
                Func::Min | Func::Max => {
                    let f = if func == Func::Min {
                        BinaryFn::Min
                    } else {
                        BinaryFn::Max
                    };
                    // min(a, b, c) is min(min(a, b), c), each step with Python's argument order.
                    if let [a, b] = *args {
                        emit_binary(f, tree, (a, b), code, depth, max);
                    } else {
                        emit(tree, args[0], code, depth, max);
                        for &a in &args[1..] {
                            emit_operand(f, tree, a, code, depth, max);
                        }
                    }
                }
                Func::Clamp => {
                    for &a in args {
                        emit(tree, a, code, depth, max);
                    }
                    code.push(Op::Clamp);
                    *depth -= 2;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floordiv_and_mod_follow_python() {
        // Values checked against CPython 3.11.
        assert_eq!(python_floordiv(7.0, 2.0), 3.0);
        assert_eq!(python_floordiv(-7.0, 2.0), -4.0);
        assert_eq!(python_floordiv(7.0, -2.0), -4.0);
        assert_eq!(python_floordiv(0.7, 0.1), 6.0);
        assert_eq!(python_mod(-7.0, 2.0), 1.0);
        assert_eq!(python_mod(7.0, -2.0), -1.0);
        assert_eq!(python_mod(0.7, 0.1), 0.09999999999999992);
        assert!(python_mod(1.0, 0.0).is_nan());
        assert_eq!(python_floordiv(-0.0, 5.0).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn min_max_keep_the_first_of_unordered_values() {
        assert!(python_min(f64::NAN, 1.0).is_nan());
        assert_eq!(python_min(1.0, f64::NAN), 1.0);
        assert_eq!(python_max(1.0, f64::NAN), 1.0);
    }

    #[test]
    fn round_is_half_to_even() {
        assert_eq!(UnaryFn::Round.apply(2.5), 2.0);
        assert_eq!(UnaryFn::Round.apply(3.5), 4.0);
        assert_eq!(UnaryFn::Round.apply(-0.5), -0.0);
    }

    /// The tree, evaluated directly: what the compiled program must reproduce bit for bit.
    fn eval_tree(node: NodeRef<'_>, x: f64) -> f64 {
        match node.kind() {
            NodeKind::Number(v) => v,
            NodeKind::Bool(b) => bool_value(b),
            NodeKind::Param => x,
            NodeKind::Unary(UnaryOp::Neg, a) => -eval_tree(a, x),
            NodeKind::Unary(UnaryOp::Not, a) => bool_value(eval_tree(a, x) == 0.0),
            NodeKind::Binary(op, l, r) => binary(op, eval_tree(l, x), eval_tree(r, x)),
            NodeKind::If(c, t, e) => {
                if eval_tree(c, x) != 0.0 {
                    eval_tree(t, x)
                } else {
                    eval_tree(e, x)
                }
            }
            NodeKind::Call(f, args) => {
                let values: Vec<f64> = args.iter().map(|a| eval_tree(a, x)).collect();
                f.apply(&values)
            }
        }
    }

    #[test]
    fn constant_subtrees_fold_as_they_are_built() {
        // `(1 + 1) - ((1 + 1) - (...))`, 80 levels: as a program it would need 80 stack slots,
        // more than the evaluator has, but it folds to one number before any program is made.
        let mut deep = String::from("0.5");
        for _ in 0..80 {
            deep = format!("(1 + 1) - ({deep})");
        }
        let f =
            Lambda::from_text(&format!("e -> e * ({deep}) + min(2 ** 0.5, 3, 1 // 0.3)")).unwrap();
        // 80 levels of `2 - x` around 0.5 give 0.5 again; min(...) is sqrt(2) in f64.
        assert_eq!(f.to_string(), format!("e -> e * 0.5 + {}", 2f64.powf(0.5)));
        assert_eq!(f.ops(), 2);
        // Inlining a `let` lambda at a constant folds the result too.
        let f = compile_calling("warm", "x -> min(1, (x + 1) / 5)", "e * warm(3)");
        assert_eq!(f.to_string(), "e -> e * 0.8");
        // What folding left behind is not kept: `e`, `0.8` and `*`.
        assert_eq!(f.body.nodes.len(), 3);
    }

    /// `e -> body`, compiled where `name` is the `let` lambda `lambda`.
    fn compile_calling(name: &str, lambda: &str, body: &str) -> Lambda {
        let lambda = Lambda::from_text(lambda).unwrap();
        let lookup = |n: &str| {
            if n == name {
                Lookup::Lambda(lambda.clone())
            } else {
                Lookup::Undefined
            }
        };
        let body = crate::parse::parse_expr(body).unwrap();
        let param = ast::Ident {
            name: "e".into(),
            span: Span::default(),
        };
        compile(&param, &body, &lookup, &mut Vec::new()).unwrap()
    }

    #[test]
    fn an_inlined_argument_is_shared_but_reads_as_copies() {
        let f = compile_calling("sq", "x -> x * x + x", "sq(sin(e) + 1)");
        let text = "e -> (sin(e) + 1) * (sin(e) + 1) + (sin(e) + 1)";
        assert_eq!(f.to_string(), text);
        // The argument's four nodes once (used three times), `*` and `+`.
        assert_eq!(f.body.nodes.len(), 4 + 2);
        assert_eq!(Shape::of(f.body()).nodes, 3 * 4 + 2);
        // Equal, as a tree, to the lambda written out in full.
        let written = Lambda::from_text(text).unwrap();
        assert_eq!(f, written);
        assert_eq!(written.body.nodes.len(), 3 * 4 + 2);
        for x in [0.0, 1.5, -3.0] {
            assert_eq!(f.eval(x).to_bits(), written.eval(x).to_bits());
        }
    }

    #[test]
    fn compiled_programs_match_the_tree_bit_for_bit() {
        let lambdas = [
            "e -> min(1, (e + 1) / 10)",
            "e -> max(e, 1, 2 * e, 0.5)",
            "e -> min(e / 0, 1)",
            "e -> min(1, e / 0)",
            "e -> max(0 / 0, e)",
            "e -> clamp(e - 3, 0, e * 2)",
            "e -> clamp(1, e, 3)",
            "e -> 2 ** e - e ** 2 + 1 - e",
            "e -> 10 // e + 10 % e - e // 3 + e % -3",
            "e -> if e < 10 then (e + 1) / 10 else 0.5 * (1 + cos(pi * (e - 10) / 990))",
            "e -> if 3 < e and e <= 7 or not (e != 9) then -e else if e >= 20 then 1 else 0.5",
            "e -> (if e > 2 then e else 2) * 3 + (if e > 5 then 1 else e)",
            "e -> 1 - e / 1000 + sqrt(e) * log(e + 1) - exp(-e) + abs(e - 5) + floor(e / 3)",
            "e -> round(e / 4) + ceil(e / 4) + tanh(e) + atan(e) + sin(e) / e",
            // Deeper than the small stack.
            "e -> e - (e * (e - (e * (e - (e * (e - (e * (e - (e * (e - e))))))))))",
        ];
        let xs = [
            0.0,
            -0.0,
            1.0,
            2.5,
            3.0,
            7.0,
            9.0,
            10.0,
            25.0,
            -4.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut stacks = Vec::new();
        for text in lambdas {
            let f = Lambda::from_text(text).unwrap();
            stacks.push(f.stack);
            for x in xs {
                let (got, want) = (f.eval(x), eval_tree(f.body(), x));
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "{text} at {x}: {got} != {want}"
                );
            }
        }
        // Each of the three ways of running a program is exercised above.
        for stack in [Stack::None, Stack::Small, Stack::Large] {
            assert!(
                stacks.contains(&stack),
                "no lambda above runs with {stack:?}"
            );
        }
        assert_eq!(
            Lambda::from_text("e -> 0.95 ** e").unwrap().stack,
            Stack::None
        );
    }
}
