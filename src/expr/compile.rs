//! Type-checking a lambda body and compiling it: names resolved through the checker's scope,
//! `let` lambdas inlined, constants folded, then a flat stack program emitted.

use super::run::{bool_value, BinaryFn, Fault, Op, Operation, Stack};
use super::tree::{Func, Node, NodeRef, Tree, UnaryFn};
use super::{Lambda, Origin};
use crate::ast::{self, ExprKind, Span, UnaryOp};
use crate::diagnostic::text::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};
use crate::limits::{MAX_INLINED_OPS, MAX_LAMBDA_OPS, MAX_LOCALS, MAX_STACK};
use std::sync::Arc;

/// What is left of [`MAX_INLINED_OPS`] while the lambdas of one file are compiled.
#[derive(Debug)]
pub struct InlineBudget(usize);

impl Default for InlineBudget {
    fn default() -> Self {
        InlineBudget(MAX_INLINED_OPS)
    }
}

/// What a name means to the lambda compiler, as the checker's scope answers it.
pub enum Lookup {
    Number(f64),
    /// A number that an operation made NaN or infinite from finite operands (at the fault).
    Broken(f64, Fault),
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
        scope: Vec::new(),
        ended: Vec::new(),
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
    if compiler.diags[before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    let mut tree = compiler.tree.compact(root);
    if tree.locals.len() > MAX_LOCALS {
        compiler.diags.push(
            Diagnostic::error(
                Code::TooLarge,
                body.span,
                format!(
                    "this lambda keeps {} local values (`let ... in`) once `let` lambdas are inlined; the limit is {MAX_LOCALS}",
                    tree.locals.len()
                ),
            )
            .with_label("too many local values")
            .with_help("a learning-rate function needs a few; compute fewer values, or call `let` lambdas that bind values fewer times"),
        );
        return None;
    }
    tree.unique_local_names(&param.name);
    let mut emitter = Emitter {
        tree: &tree,
        code: Vec::with_capacity(tree.nodes.len()),
        spans: Vec::with_capacity(tree.nodes.len()),
        faults: Vec::new(),
        depth: 0,
        max: 0,
    };
    emitter.emit(tree.root);
    let Emitter {
        code,
        spans,
        faults,
        max: max_depth,
        ..
    } = emitter;
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
        origin: Arc::new(Origin {
            body: body.span,
            spans: spans.into(),
            faults: faults.into(),
        }),
    })
}

/// The value of `e`, an expression without a parameter, as the compiler folds it (a boolean
/// as 1 or 0), with the first operation in it that broke, if one did. `None` if it is not a
/// constant the compiler accepts (a name `lookup` does not know, a schedule, a string, ...).
pub fn constant(e: &ast::Expr, lookup: &dyn Fn(&str) -> Lookup) -> Option<(f64, Option<Fault>)> {
    let mut diags = Vec::new();
    let mut budget = InlineBudget::default();
    let mut compiler = Compiler {
        // No name is empty: every name is asked of `lookup`.
        param: "",
        lookup,
        diags: &mut diags,
        budget: &mut budget,
        tree: Tree::default(),
        operands: Vec::new(),
        scope: Vec::new(),
        ended: Vec::new(),
    };
    let (root, _) = compiler.node(e)?;
    if compiler.diags.iter().any(Diagnostic::is_error) {
        return None;
    }
    let value = compiler.tree.constant(root)?;
    Some((value, compiler.tree.fault(root)))
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
    /// The local values (`let ... in`) in scope, innermost last.
    scope: Vec<Local>,
    /// The local values whose bodies have ended, and where each is named: a use after its
    /// body is explained as such.
    ended: Vec<(Box<str>, Span)>,
}

/// A local value in scope while its body is compiled.
struct Local {
    name: Box<str>,
    /// Where its name is written.
    span: Span,
    ty: Ty,
    /// What its name stands for: the value's node itself when that is a constant, the
    /// parameter or another local (nothing to compute once), else a slot.
    binding: Binding,
    /// How many times the body uses it.
    uses: usize,
}

#[derive(Clone, Copy)]
enum Binding {
    Node(u32),
    Slot(u32),
}

impl Compiler<'_> {
    /// Adds `node` (its operands already added), written at `span`, folded to a constant if
    /// they all are.
    fn add(&mut self, node: Node, span: Span) -> u32 {
        let (node, fault) = fold(&self.tree, node, span);
        self.tree.push(node, span, fault)
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
            ExprKind::Number(v) => Some((self.add(Node::Number(*v), e.span), Ty::Number)),
            ExprKind::Bool(b) => Some((self.add(Node::Bool(*b), e.span), Ty::Bool)),
            ExprKind::Paren(inner) => self.node(inner),
            ExprKind::Name(name) => self.name(name, e.span),
            ExprKind::Unary { op, operand } => {
                let want = match op {
                    UnaryOp::Neg => Ty::Number,
                    UnaryOp::Not => Ty::Bool,
                };
                let x = self.expect(operand, want)?;
                Some((self.add(Node::Unary(*op, x), e.span), want))
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
                Some((self.add(Node::Binary(*op, l?, r?), e.span), result))
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
                Some((self.add(Node::If(c?, t, o), e.span), tt))
            }
            ExprKind::Call(call) => self.call(call),
            ExprKind::LetIn { name, value, body } => self.let_in(name, value, body, e.span),
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

    /// `let name = value in body`.
    fn let_in(
        &mut self,
        name: &ast::Ident,
        value: &ast::Expr,
        body: &ast::Expr,
        span: Span,
    ) -> Option<(u32, Ty)> {
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let shadowed = self.shadows(&name.name);
        if let Some((what, def)) = &shadowed {
            let mut d = Diagnostic::error(
                Code::DuplicateDefinition,
                name.span,
                format!("`{}` is already {what}", name.name),
            )
            .with_label("defined again here")
            .with_help(format!(
                "give the local value a name of its own, e.g. `let {}_2 = ... in`; one name for two values makes the body hard to read",
                name.name
            ));
            if let Some(def) = def {
                d = d.with_related(*def, "first defined here");
            }
            self.diags.push(d);
        }
        // The value's mistakes and the body's are reported alike.
        let value = self.node(value);
        let Some((v, ty)) = value else {
            // The body is still checked, with the name standing for nothing known.
            let _ = self.node_with_poisoned(name, body);
            return None;
        };
        let binding = match self.tree.node(v) {
            Node::Number(_) | Node::Bool(_) | Node::Param | Node::Local(_) => Binding::Node(v),
            _ => {
                self.tree.locals.push(name.name.as_str().into());
                Binding::Slot(self.tree.locals.len() as u32 - 1)
            }
        };
        self.scope.push(Local {
            name: name.name.as_str().into(),
            span: name.span,
            ty,
            binding,
            uses: 0,
        });
        let body = self.node(body);
        let local = self.scope.pop().expect("pushed above");
        self.ended.push((local.name.clone(), local.span));
        // Unused because of a mistake in the body (say, the same name bound again): that
        // mistake is what to fix.
        let errors = self.diags.iter().filter(|d| d.is_error()).count();
        if local.uses == 0 && errors == errors_before {
            self.diags.push(
                Diagnostic::warning(
                    Code::UnusedLet,
                    name.span,
                    format!("the local value `{}` is never used", name.name),
                )
                .with_label("never used")
                .with_help(format!(
                    "remove `let {} = ... in`, or use `{}` in the body",
                    name.name, name.name
                )),
            );
        }
        let (b, bty) = body?;
        match local.binding {
            // Nothing to compute once: every use is the value itself.
            Binding::Node(_) => Some((b, bty)),
            // Unused, so computing it changes nothing (no value has a side effect).
            Binding::Slot(_) if local.uses == 0 => Some((b, bty)),
            Binding::Slot(slot) => Some((self.add(Node::Let(slot, v, b), span), bty)),
        }
    }

    /// Checks `body` with `name` in scope but of no known value (its own value had errors),
    /// so that its uses report nothing more.
    fn node_with_poisoned(&mut self, name: &ast::Ident, body: &ast::Expr) -> Option<(u32, Ty)> {
        self.scope.push(Local {
            name: name.name.as_str().into(),
            span: name.span,
            ty: Ty::Number,
            binding: Binding::Slot(u32::MAX),
            uses: 0,
        });
        let body = self.node(body);
        self.scope.pop();
        body
    }

    /// What a local named `name` would hide, and where that is defined if it is written.
    fn shadows(&self, name: &str) -> Option<(&'static str, Option<Span>)> {
        if let Some(local) = self.scope.iter().rev().find(|l| &*l.name == name) {
            return Some(("a local value here", Some(local.span)));
        }
        if name == self.param {
            return Some(("the lambda's parameter", None));
        }
        if matches!(name, "pi" | "tau") {
            return Some(("a constant (`pi` and `tau` are built in)", None));
        }
        match (self.lookup)(name) {
            // A later `let` is not in scope here (a use would be an error).
            Lookup::Undefined | Lookup::Later(_) => None,
            Lookup::Itself(def) => Some(("a `let` of this file", Some(def))),
            _ => Some(("a `let` of this file", None)),
        }
    }

    fn name(&mut self, name: &str, span: Span) -> Option<(u32, Ty)> {
        if let Some(local) = self.scope.iter_mut().rev().find(|l| &*l.name == name) {
            local.uses += 1;
            let ty = local.ty;
            return match local.binding {
                // Its value had errors, already reported.
                Binding::Slot(u32::MAX) => None,
                Binding::Node(id) => Some((id, ty)),
                Binding::Slot(slot) => Some((self.add(Node::Local(slot), span), ty)),
            };
        }
        if name == self.param {
            return Some((self.add(Node::Param, span), Ty::Number));
        }
        match name {
            "pi" => {
                return Some((
                    self.add(Node::Number(std::f64::consts::PI), span),
                    Ty::Number,
                ))
            }
            "tau" => {
                return Some((
                    self.add(Node::Number(std::f64::consts::TAU), span),
                    Ty::Number,
                ))
            }
            _ => {}
        }
        match (self.lookup)(name) {
            Lookup::Number(v) => Some((self.add(Node::Number(v), span), Ty::Number)),
            Lookup::Broken(v, fault) => {
                let id = self.tree.push(Node::Number(v), span, Some(fault));
                Some((id, Ty::Number))
            }
            Lookup::Bool(b) => Some((self.add(Node::Bool(b), span), Ty::Bool)),
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
            Lookup::Undefined if self.ended.iter().any(|(n, _)| &**n == name) => {
                let def = self
                    .ended
                    .iter()
                    .rev()
                    .find(|(n, _)| &**n == name)
                    .expect("found")
                    .1;
                self.diags.push(
                    Diagnostic::error(
                        Code::UndefinedName,
                        span,
                        format!("`{name}` is a local value known only in the body of its `let ... in`"),
                    )
                    .with_label("used after that body ends")
                    .with_related(def, "named here")
                    .with_help(format!(
                        "move `let {name} = ... in` out, before everything that uses `{name}` (the body of a `let ... in` reaches as far right as it can, so bracket it only where it should end)"
                    )),
                );
                None
            }
            Lookup::Undefined => {
                let mut candidates: Vec<&str> = vec![self.param, "pi", "tau"];
                candidates.extend(self.scope.iter().map(|l| &*l.name));
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
            return Some((
                self.add(Node::Call(func, start, len), call.span),
                Ty::Number,
            ));
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
        // Each local value of `body`: its value's node there, and what it becomes here (its
        // value itself if that became a constant, else a slot of this tree), decided at its
        // first use, which comes after its value and before its `Let`.
        let mut value_of = vec![0u32; body.locals.len()];
        for node in &body.nodes {
            if let Node::Let(slot, v, _) = *node {
                value_of[slot as usize] = v;
            }
        }
        let mut bound: Vec<Option<Binding>> = vec![None; body.locals.len()];
        let mut bind = |this: &mut Self, new_id: &[u32], slot: u32| -> Binding {
            *bound[slot as usize].get_or_insert_with(|| {
                let v = new_id[value_of[slot as usize] as usize];
                match this.tree.node(v) {
                    Node::Number(_) | Node::Bool(_) | Node::Param | Node::Local(_) => {
                        Binding::Node(v)
                    }
                    _ => {
                        this.tree.locals.push(body.locals[slot as usize].clone());
                        Binding::Slot(this.tree.locals.len() as u32 - 1)
                    }
                }
            })
        };
        for (old, &node) in body.nodes.iter().enumerate() {
            let at = |x: u32| new_id[x as usize];
            // Spans stay those of the `let` lambda's own text, where its operations are written.
            let span = body.spans[old];
            let id = match node {
                Node::Param => arg,
                // Constants were folded already; a broken one keeps where it broke.
                Node::Number(_) | Node::Bool(_) => {
                    self.tree.push(node, span, body.fault(old as u32))
                }
                Node::Unary(op, x) => self.add(Node::Unary(op, at(x)), span),
                Node::Binary(op, l, r) => self.add(Node::Binary(op, at(l), at(r)), span),
                Node::If(c, t, e) => self.add(Node::If(at(c), at(t), at(e)), span),
                Node::Call(func, start, len) => {
                    let first = self.tree.args.len() as u32;
                    for &a in body.call_args(start, len) {
                        self.tree.args.push(at(a));
                    }
                    self.add(Node::Call(func, first, len), span)
                }
                Node::Local(slot) => match bind(self, &new_id, slot) {
                    Binding::Node(v) => v,
                    Binding::Slot(s) => self.add(Node::Local(s), span),
                },
                Node::Let(slot, v, b) => match bind(self, &new_id, slot) {
                    Binding::Node(_) => at(b),
                    Binding::Slot(s) => self.add(Node::Let(s, at(v), at(b)), span),
                },
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
                Node::Number(_) | Node::Bool(_) | Node::Local(_) => {}
                Node::Param => shape.params += 1,
                Node::Let(_, v, b) => stack.extend([(v, d + 1), (b, d + 1)]),
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

/// The diagnostic for calling `func` with the wrong number of arguments, if it is.
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

/// `node` (written at `span`) as a constant if every operand (in `tree`) is one, computed
/// with the evaluator's own operations (so exactly as evaluation would), with the first
/// operation in it that broke (see [`Fault`]) in the order evaluation would have met them.
/// Nodes are folded as they are added, operands first, which folds every constant subtree in
/// one step per node.
fn fold(tree: &Tree, node: Node, span: Span) -> (Node, Option<Fault>) {
    let c = |id: u32| tree.constant(id);
    let folded = match node {
        Node::Unary(op, x) => c(x).map(|a| {
            let f = UnaryFn::of(op);
            let v = f.apply(a);
            let own = || Fault::of(span, Operation::Call(f.name(), a), v);
            (v, tree.fault(x).or_else(own))
        }),
        Node::Binary(op, l, r) => c(l).zip(c(r)).map(|(a, b)| {
            let v = BinaryFn::of(op).apply(a, b);
            let own = || Fault::of(span, Operation::Infix(op.symbol(), a, b), v);
            (v, tree.fault(l).or(tree.fault(r)).or_else(own))
        }),
        Node::If(cond, t, e) => match (c(cond), c(t), c(e)) {
            // What `JumpIfFalse` decides; only the branch taken is evaluated.
            (Some(v), Some(tv), Some(ev)) => {
                let (value, taken) = if v == 0.0 { (ev, e) } else { (tv, t) };
                Some((value, tree.fault(cond).or(tree.fault(taken))))
            }
            _ => None,
        },
        Node::Call(func, start, len) => {
            let args = tree.call_args(start, len);
            args.iter()
                .map(|&a| c(a))
                .collect::<Option<Vec<f64>>>()
                .map(|values| {
                    let v = func.apply(&values);
                    let own = || match func {
                        Func::Unary(f) => Fault::of(span, Operation::Call(f.name(), values[0]), v),
                        // `min`, `max` and `clamp` of finite values are finite.
                        _ => None,
                    };
                    (v, args.iter().find_map(|&a| tree.fault(a)).or_else(own))
                })
        }
        // A body that does not depend on its local value (the value has no side effect).
        Node::Let(_, _, b) => c(b).map(|v| (v, tree.fault(b))),
        Node::Number(_) | Node::Bool(_) | Node::Param | Node::Local(_) => None,
    };
    match folded {
        Some((v, fault)) if is_bool(tree, node) => (Node::Bool(v != 0.0), fault),
        Some((v, fault)) => (Node::Number(v), fault),
        None => (node, None),
    }
}

fn is_bool(tree: &Tree, node: Node) -> bool {
    match node {
        Node::Bool(_) => true,
        Node::Unary(UnaryOp::Not, _) => true,
        Node::Binary(op, ..) => op.is_comparison() || op.is_logical(),
        Node::If(_, t, _) | Node::Let(_, _, t) => is_bool(tree, tree.node(t)),
        _ => false,
    }
}

/// Emits the stack program of a tree, with a side table for diagnostics: the span of each
/// operation, and the broken constants folded into them ([`Lambda::first_fault`]).
struct Emitter<'t> {
    tree: &'t Tree,
    code: Vec<Op>,
    /// `spans[pc]`: where `code[pc]` was written.
    spans: Vec<Span>,
    /// `(pc, fault)`: a folded constant that broke, evaluated just before `code[pc]`.
    faults: Vec<(u32, Fault)>,
    depth: usize,
    max: usize,
}

impl Emitter<'_> {
    /// Appends `op`, the operation of node `id`.
    fn op(&mut self, op: Op, id: u32) {
        self.code.push(op);
        self.spans.push(self.tree.spans[id as usize]);
    }

    fn push(&mut self) {
        self.depth += 1;
        self.max = self.max.max(self.depth);
    }

    /// The constant `id`, if it broke when it was folded, is evaluated before the next
    /// operation.
    fn constant_here(&mut self, id: u32) {
        if let Some(fault) = self.tree.fault(id) {
            self.faults.push((self.code.len() as u32, fault));
        }
    }

    /// Emits `f(l, r)` for node `at`, folding a constant operand (or a parameter with a
    /// constant) into the operation. Operands keep their order, so non-commutative and
    /// NaN-sensitive operations (`min`, `max`, comparisons) give the same results as the plain
    /// stack program.
    fn binary(&mut self, f: BinaryFn, (l, r): (u32, u32), at: u32) {
        let tree = self.tree;
        match (tree.node(l), tree.constant(l), tree.constant(r)) {
            (Node::Param, _, Some(c)) => {
                self.constant_here(r);
                self.op(Op::ParamBinaryConst(f, c), at);
                self.push();
            }
            (Node::Local(slot), _, Some(c)) => {
                self.constant_here(r);
                self.op(Op::LocalBinaryConst(f, slot as u16, c), at);
                self.push();
            }
            (_, Some(c), None) => {
                // The left operand comes first, before the right one's operations.
                self.constant_here(l);
                self.emit(r);
                self.op(Op::ConstBinary(f, c), at);
            }
            _ => {
                self.emit(l);
                self.operand(f, r, at);
            }
        }
    }

    /// Emits `top = f(top, r)` for node `at`, for the value already on the stack.
    fn operand(&mut self, f: BinaryFn, r: u32, at: u32) {
        match self.tree.constant(r) {
            Some(c) => {
                self.constant_here(r);
                self.op(Op::BinaryConst(f, c), at);
            }
            None => {
                self.emit(r);
                self.op(Op::Binary(f), at);
                self.depth -= 1;
            }
        }
    }

    fn emit(&mut self, id: u32) {
        match self.tree.node(id) {
            Node::Number(v) => self.constant(v, id),
            Node::Bool(b) => self.constant(bool_value(b), id),
            Node::Param => {
                self.op(Op::Param, id);
                self.push();
            }
            Node::Unary(op, x) => {
                self.emit(x);
                self.op(Op::Unary(UnaryFn::of(op)), id);
            }
            Node::Binary(op, l, r) => self.binary(BinaryFn::of(op), (l, r), id),
            Node::If(c, t, e) => {
                self.emit(c);
                let jump_if_false = self.code.len();
                self.op(Op::JumpIfFalse(0), id);
                self.depth -= 1;
                self.emit(t);
                let jump = self.code.len();
                self.op(Op::Jump(0), id);
                self.depth -= 1;
                let else_start = self.code.len() as u32;
                self.emit(e);
                let end = self.code.len() as u32;
                self.code[jump_if_false] = Op::JumpIfFalse(else_start);
                self.code[jump] = Op::Jump(end);
            }
            Node::Call(func, start, len) => self.call(func, start, len, id),
            Node::Local(slot) => {
                self.op(Op::Load(slot as u16), id);
                self.push();
            }
            Node::Let(slot, v, b) => {
                self.emit(v);
                self.op(Op::Store(slot as u16), id);
                self.depth -= 1;
                self.emit(b);
            }
        }
    }

    fn constant(&mut self, v: f64, id: u32) {
        self.constant_here(id);
        self.op(Op::Const(v), id);
        self.push();
    }

    fn call(&mut self, func: Func, start: u32, len: u32, id: u32) {
        let tree = self.tree;
        let args = tree.call_args(start, len);
        match func {
            Func::Unary(f) => {
                self.emit(args[0]);
                self.op(Op::Unary(f), id);
            }
            Func::Min | Func::Max => {
                let f = if func == Func::Min {
                    BinaryFn::Min
                } else {
                    BinaryFn::Max
                };
                // min(a, b, c) is min(min(a, b), c), each step with Python's argument order.
                if let [a, b] = *args {
                    self.binary(f, (a, b), id);
                } else {
                    self.emit(args[0]);
                    for &a in &args[1..] {
                        self.operand(f, a, id);
                    }
                }
            }
            Func::Clamp => {
                for &a in args {
                    self.emit(a);
                }
                self.op(Op::Clamp, id);
                self.depth -= 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The messages of compiling `e -> body` where `lets` are the file's `let` numbers.
    fn messages(body: &str, lets: &[&str]) -> Vec<String> {
        let lookup = |n: &str| {
            if lets.contains(&n) {
                Lookup::Number(1.0)
            } else {
                Lookup::Undefined
            }
        };
        let body = crate::parse::parse_expr(body).unwrap();
        let param = ast::Ident {
            name: "e".into(),
            span: Span::default(),
        };
        let mut diags = Vec::new();
        compile(&param, &body, &lookup, &mut diags);
        diags.iter().map(|d| d.message.clone()).collect()
    }

    #[test]
    fn a_local_value_is_computed_once_and_reads_back() {
        let text = "e -> let c = e // 10 in let t = e - 10 * c in 0.5 ** c * (1 - t / 10)";
        let f = Lambda::from_text(text).unwrap();
        assert_eq!(f.to_string(), text);
        assert_eq!(Lambda::from_text(&f.to_string()).unwrap(), f);
        // `e // 10` once: store it, and read it twice.
        let count = |op: fn(&Op) -> bool| f.code.iter().filter(|o| op(o)).count();
        assert_eq!(count(|o| matches!(o, Op::Store(_))), 2);
        assert_eq!(
            count(|o| matches!(o, Op::ParamBinaryConst(BinaryFn::FloorDiv, _))),
            1
        );
        for x in [0.0, 9.0, 10.0, 25.5] {
            let c = (x / 10.0f64).floor();
            assert_eq!(f.eval(x), 0.5f64.powf(c) * (1.0 - (x - 10.0 * c) / 10.0));
        }
        // A constant, the parameter or another local is used as it is: nothing to store.
        let f =
            Lambda::from_text("e -> let k = 2 ** 3 in let x = e in let y = x in y * k").unwrap();
        assert_eq!(f.to_string(), "e -> e * 8");
    }

    #[test]
    fn a_let_lambda_with_local_values_inlines_with_names_of_its_own() {
        let f = compile_calling(
            "g",
            "x -> let c = x * 2 in c + x",
            "let c = e + 1 in g(c) + g(e) * c",
        );
        // Each inlined copy keeps its own `c`, renamed where two would meet; the outer `c`
        // passed as `x` stays the outer one.
        let text = f.to_string();
        assert_eq!(
            text,
            "e -> let c = e + 1 in (let c_2 = c * 2 in c_2 + c) + (let c_3 = e * 2 in c_3 + e) * c"
        );
        let back = Lambda::from_text(&text).unwrap();
        assert_eq!(back, f);
        for x in [0.0, 1.5, -3.0] {
            let c = x + 1.0;
            let want = (c * 2.0 + c) + (x * 2.0 + x) * c;
            assert_eq!(f.eval(x), want);
            assert_eq!(back.eval(x), want);
        }
        // A constant argument folds the inlined local away.
        let f = compile_calling("g", "x -> let c = x * 2 in c + x", "e * g(3)");
        assert_eq!(f.to_string(), "e -> e * 9");
    }

    #[test]
    fn local_values_are_checked() {
        assert_eq!(
            messages("let c = e in let c = 2 in c", &[]),
            ["`c` is already a local value here"]
        );
        assert_eq!(
            messages("let e = 1 in e", &[]),
            ["`e` is already the lambda's parameter"]
        );
        assert_eq!(
            messages("let peak = 2 in e * peak", &["peak"]),
            ["`peak` is already a `let` of this file"]
        );
        assert_eq!(
            messages("let pi = 3 in e * pi", &[]),
            ["`pi` is already a constant (`pi` and `tau` are built in)"]
        );
        assert_eq!(
            messages("let c = e * 2 in e", &[]),
            ["the local value `c` is never used"]
        );
        // Out of scope after its body; a typo is matched against the names in scope.
        assert_eq!(
            messages("(let c = e in c) + c", &[]),
            ["`c` is a local value known only in the body of its `let ... in`"]
        );
        assert_eq!(
            messages("let cycle = e // 10 in cycel", &[]),
            ["`cycel` is not defined"]
        );
        // A value with errors: its uses say nothing more.
        assert_eq!(
            messages("let c = nope in c * 2", &[]),
            ["`nope` is not defined"]
        );
        // A condition may be named, and is still a condition.
        assert_eq!(
            messages("let w = e < 5 in if w then 1 else 2", &[]),
            [""; 0]
        );
        assert_eq!(
            messages("let w = e < 5 in w * 2", &[]),
            ["expected a number, found a boolean"]
        );
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
}
