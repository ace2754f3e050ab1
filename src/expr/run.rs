//! Running a compiled lambda: the stack program, its operations, and Python's float
//! arithmetic that they follow.

use super::tree::{Func, UnaryFn};
use super::Lambda;
use crate::ast::{BinaryOp, Span};
use crate::diagnostic::text::rounded;
use crate::limits::{MAX_LOCALS, MAX_STACK};
use std::fmt;

/// The stack size of the fast path of [`Lambda::eval`].
const SMALL_STACK: usize = 8;

/// How much stack a program needs, and whether it keeps local values (`let ... in`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stack {
    /// None: no operation pops a value pushed before the top (`Binary`, `Clamp`), so every
    /// push can simply replace the top. Most learning-rate lambdas (`0.95 ** e`,
    /// `min(1, (e + 1) / 10)`) are such chains.
    None,
    /// At most [`SMALL_STACK`] slots (nearly all the others).
    Small,
    /// Up to [`MAX_STACK`] slots.
    Large,
    /// [`Stack::None`], [`Stack::Small`] and [`Stack::Large`] with room for [`MAX_LOCALS`]
    /// local values: apart, so that a lambda without locals does not clear their array at
    /// every evaluation.
    NoneLocals,
    SmallLocals,
    LargeLocals,
}

impl Stack {
    pub(super) fn of(code: &[Op], max_depth: usize) -> Stack {
        let locals = code.iter().any(|op| matches!(op, Op::Store(_)));
        let stack = if !code
            .iter()
            .any(|op| matches!(op, Op::Binary(_) | Op::Clamp))
        {
            Stack::None
        } else if max_depth <= SMALL_STACK {
            Stack::Small
        } else {
            Stack::Large
        };
        match (stack, locals) {
            (stack, false) => stack,
            (Stack::None, true) => Stack::NoneLocals,
            (Stack::Small, true) => Stack::SmallLocals,
            (_, true) => Stack::LargeLocals,
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
            Stack::NoneLocals => self.run_without_stack_locals(x),
            Stack::SmallLocals => self.run_small_locals(x),
            Stack::LargeLocals => self.run_large_locals(x),
        }
    }

    /// Runs a program whose stack is [`Stack::None`]: the top in a register, no stack to
    /// clear or store to, and a small frame (a schedule step that calls it saves about 3%).
    #[inline(never)]
    fn run_without_stack(&self, x: f64) -> f64 {
        self.run_stackless::<0>(x)
    }

    #[inline(never)]
    fn run_without_stack_locals(&self, x: f64) -> f64 {
        self.run_stackless::<MAX_LOCALS>(x)
    }

    /// The stackless program with `L` local slots (none, or [`MAX_LOCALS`] for a program
    /// that stores some).
    #[inline(always)]
    fn run_stackless<const L: usize>(&self, x: f64) -> f64 {
        let mut locals = [0.0f64; L];
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
                // `Stack::of` gives a program that stores locals some (`L > 0`); without them
                // these arms compile to nothing, so the plain program runs as it always did.
                Op::Store(_) | Op::Load(_) | Op::LocalBinaryConst(..) if L == 0 => return f64::NAN,
                // The value below, which `run` would restore as the top, is never used: the
                // body after a `Store` starts with a push.
                Op::Store(slot) => locals[slot as usize] = top,
                Op::Load(slot) => top = locals[slot as usize],
                Op::LocalBinaryConst(f, slot, c) => top = f.apply(locals[slot as usize], c),
                // `Stack::of` leaves these to `run`.
                Op::Binary(_) | Op::Clamp => return f64::NAN,
            }
        }
        top
    }

    #[inline(never)]
    fn run_small(&self, x: f64) -> f64 {
        self.run::<SMALL_STACK, 0>(x)
    }

    #[inline(never)]
    fn run_large(&self, x: f64) -> f64 {
        self.run::<MAX_STACK, 0>(x)
    }

    #[inline(never)]
    fn run_small_locals(&self, x: f64) -> f64 {
        self.run::<SMALL_STACK, MAX_LOCALS>(x)
    }

    #[inline(never)]
    fn run_large_locals(&self, x: f64) -> f64 {
        self.run::<MAX_STACK, MAX_LOCALS>(x)
    }

    /// Runs the program with a stack of `N >= depth` slots and `L` local slots (more than
    /// the program stores, or none if it stores none).
    #[inline(always)]
    fn run<const N: usize, const L: usize>(&self, x: f64) -> f64 {
        // The logical stack is `stack[..sp]` followed by `top`. The first push stores the
        // meaningless initial `top`, so a program of depth `d` uses `stack[..d]`.
        let mut stack = [0.0f64; N];
        let mut locals = [0.0f64; L];
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
                // As in `run_stackless`: nothing for a program without locals.
                Op::Store(_) | Op::Load(_) | Op::LocalBinaryConst(..) if L == 0 => return f64::NAN,
                Op::Store(slot) => {
                    locals[slot as usize] = top;
                    sp -= 1;
                    top = stack[sp];
                }
                Op::Load(slot) => {
                    stack[sp] = top;
                    sp += 1;
                    top = locals[slot as usize];
                }
                Op::LocalBinaryConst(f, slot, c) => {
                    stack[sp] = top;
                    sp += 1;
                    top = f.apply(locals[slot as usize], c);
                }
            }
        }
        top
    }
}

/// An operation whose operands are finite but whose result is not: where a lambda breaks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fault {
    /// The sub-expression (in the `let` that defines it, inside an inlined `let` lambda).
    pub span: Span,
    pub operation: Operation,
    /// The NaN or infinity it gave.
    pub value: f64,
}

/// An operation with its operand values; `Display` writes it as in `1 / 0` or `log(0)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Operation {
    /// An operator between two values.
    Infix(&'static str, f64, f64),
    /// A function of one value.
    Call(&'static str, f64),
    /// A function of two values (`min`, `max`; they never break, but the program has them).
    Call2(&'static str, f64, f64),
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Operation::Infix(op, a, b) => write!(f, "{} {op} {}", rounded(a), rounded(b)),
            Operation::Call(name, a) => write!(f, "{name}({})", rounded(a)),
            Operation::Call2(name, a, b) => write!(f, "{name}({}, {})", rounded(a), rounded(b)),
        }
    }
}

impl Fault {
    /// `operation` as a fault at `span`, if it broke: finite operands, a result that is not.
    pub(super) fn of(span: Span, operation: Operation, value: f64) -> Option<Fault> {
        let finite = match operation {
            Operation::Call(_, a) => a.is_finite(),
            Operation::Infix(_, a, b) | Operation::Call2(_, a, b) => a.is_finite() && b.is_finite(),
        };
        (finite && !value.is_finite()).then_some(Fault {
            span,
            operation,
            value,
        })
    }

    fn binary(span: Span, f: BinaryFn, a: f64, b: f64, value: f64) -> Option<Fault> {
        let operation = match f {
            BinaryFn::Min | BinaryFn::Max => Operation::Call2(f.name(), a, b),
            _ => Operation::Infix(f.name(), a, b),
        };
        Fault::of(span, operation, value)
    }
}

impl Lambda {
    /// The first operation, in evaluation order, whose operands are finite but whose result is
    /// not, when the lambda is evaluated at `x`: where a NaN or infinity comes from. Constants
    /// that broke when they were folded count where they would have been computed.
    ///
    /// Runs the program as [`Lambda::eval`] does, checking every result, so it is for
    /// diagnostics only; `eval` itself never looks at spans.
    pub fn first_fault(&self, x: f64) -> Option<Fault> {
        let mut stack = [0.0f64; MAX_STACK];
        let mut locals = [0.0f64; MAX_LOCALS];
        let mut sp = 0usize;
        let mut top = 0.0f64;
        let mut pc = 0usize;
        let code = &self.code[..];
        let origin = &*self.origin;
        while let Some(&op) = code.get(pc) {
            // A constant folded into this operation (or, for `ConstBinary`, into the one its
            // right operand starts) broke where it was computed: before this operation.
            if let Some(&(_, fault)) = origin.faults.iter().find(|(at, _)| *at as usize == pc) {
                return Some(fault);
            }
            let span = origin.spans[pc];
            pc += 1;
            let fault = match op {
                Op::Const(v) => {
                    stack[sp] = top;
                    sp += 1;
                    top = v;
                    None
                }
                Op::Param => {
                    stack[sp] = top;
                    sp += 1;
                    top = x;
                    None
                }
                Op::ParamBinaryConst(f, c) => {
                    stack[sp] = top;
                    sp += 1;
                    top = f.apply(x, c);
                    Fault::binary(span, f, x, c, top)
                }
                Op::Unary(f) => {
                    let a = top;
                    top = f.apply(a);
                    Fault::of(span, Operation::Call(f.name(), a), top)
                }
                Op::BinaryConst(f, c) => {
                    let a = top;
                    top = f.apply(a, c);
                    Fault::binary(span, f, a, c, top)
                }
                Op::ConstBinary(f, c) => {
                    let b = top;
                    top = f.apply(c, b);
                    Fault::binary(span, f, c, b, top)
                }
                Op::Binary(f) => {
                    sp -= 1;
                    let (a, b) = (stack[sp], top);
                    top = f.apply(a, b);
                    Fault::binary(span, f, a, b, top)
                }
                // `clamp` of finite values is finite.
                Op::Clamp => {
                    sp -= 2;
                    top = clamp(stack[sp], stack[sp + 1], top);
                    None
                }
                Op::JumpIfFalse(target) => {
                    let cond = top;
                    sp -= 1;
                    top = stack[sp];
                    if cond == 0.0 {
                        pc = target as usize;
                    }
                    None
                }
                Op::Jump(target) => {
                    pc = target as usize;
                    None
                }
                Op::Store(slot) => {
                    locals[slot as usize] = top;
                    sp -= 1;
                    top = stack[sp];
                    None
                }
                Op::Load(slot) => {
                    stack[sp] = top;
                    sp += 1;
                    top = locals[slot as usize];
                    None
                }
                Op::LocalBinaryConst(f, slot, c) => {
                    stack[sp] = top;
                    sp += 1;
                    let a = locals[slot as usize];
                    top = f.apply(a, c);
                    Fault::binary(span, f, a, c, top)
                }
            };
            if fault.is_some() {
                return fault;
            }
        }
        None
    }
}

impl Func {
    /// Applies the function to constant arguments (arity already checked).
    pub fn apply(self, args: &[f64]) -> f64 {
        match self {
            Func::Unary(f) => f.apply(args[0]),
            Func::Min => args[1..].iter().fold(args[0], |a, &b| python_min(a, b)),
            Func::Max => args[1..].iter().fold(args[0], |a, &b| python_max(a, b)),
            Func::Clamp => clamp(args[0], args[1], args[2]),
        }
    }
}

impl UnaryFn {
    #[inline]
    pub(super) fn apply(self, x: f64) -> f64 {
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
pub(super) enum BinaryFn {
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
    pub(super) fn of(op: BinaryOp) -> BinaryFn {
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

    /// The operator's symbol, or the function's name.
    pub(super) fn name(self) -> &'static str {
        match self {
            BinaryFn::Add => BinaryOp::Add.symbol(),
            BinaryFn::Sub => BinaryOp::Sub.symbol(),
            BinaryFn::Mul => BinaryOp::Mul.symbol(),
            BinaryFn::Div => BinaryOp::Div.symbol(),
            BinaryFn::FloorDiv => BinaryOp::FloorDiv.symbol(),
            BinaryFn::Mod => BinaryOp::Mod.symbol(),
            BinaryFn::Pow => BinaryOp::Pow.symbol(),
            BinaryFn::Lt => BinaryOp::Lt.symbol(),
            BinaryFn::Le => BinaryOp::Le.symbol(),
            BinaryFn::Gt => BinaryOp::Gt.symbol(),
            BinaryFn::Ge => BinaryOp::Ge.symbol(),
            BinaryFn::Eq => BinaryOp::Eq.symbol(),
            BinaryFn::Ne => BinaryOp::Ne.symbol(),
            BinaryFn::And => BinaryOp::And.symbol(),
            BinaryFn::Or => BinaryOp::Or.symbol(),
            BinaryFn::Min => "min",
            BinaryFn::Max => "max",
        }
    }

    /// Python's float semantics for each operator (and `min` / `max`); [`binary`] reads the
    /// source operators through it.
    #[inline(always)]
    pub(super) fn apply(self, a: f64, b: f64) -> f64 {
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

pub(super) fn bool_value(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// One binary operator with Python's float semantics (the same arithmetic the compiled
/// program runs: `BinaryFn::apply`).
pub fn binary(op: BinaryOp, a: f64, b: f64) -> f64 {
    BinaryFn::of(op).apply(a, b)
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
pub(super) enum Op {
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
    /// `locals[slot] = pop` (`let ... in`).
    Store(u16),
    /// Push `locals[slot]`.
    Load(u16),
    /// Push `f(locals[slot], c)`.
    LocalBinaryConst(BinaryFn, u16, f64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::UnaryOp;
    use crate::expr::{Lambda, NodeKind, NodeRef};

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
    fn an_operation_is_16_bytes() {
        // A slot is a `u16` so that `LocalBinaryConst` fits beside its constant: a lambda's
        // program stays one cache line per four operations.
        assert_eq!(std::mem::size_of::<Op>(), 16);
    }

    #[test]
    fn round_is_half_to_even() {
        assert_eq!(UnaryFn::Round.apply(2.5), 2.0);
        assert_eq!(UnaryFn::Round.apply(3.5), 4.0);
        assert_eq!(UnaryFn::Round.apply(-0.5), -0.0);
    }

    /// The tree, evaluated directly: what the compiled program must reproduce bit for bit.
    fn eval_tree(node: NodeRef<'_>, x: f64) -> f64 {
        eval_in(node, x, &mut Vec::new())
    }

    /// `eval_tree` with the local values in scope, innermost last.
    fn eval_in<'a>(node: NodeRef<'a>, x: f64, env: &mut Vec<(&'a str, f64)>) -> f64 {
        match node.kind() {
            NodeKind::Number(v) => v,
            NodeKind::Bool(b) => bool_value(b),
            NodeKind::Param => x,
            NodeKind::Local(name) => env.iter().rev().find(|(n, _)| *n == name).unwrap().1,
            NodeKind::Let { name, value, body } => {
                let v = eval_in(value, x, env);
                env.push((name, v));
                let result = eval_in(body, x, env);
                env.pop();
                result
            }
            NodeKind::Unary(UnaryOp::Neg, a) => -eval_in(a, x, env),
            NodeKind::Unary(UnaryOp::Not, a) => bool_value(eval_in(a, x, env) == 0.0),
            NodeKind::Binary(op, l, r) => binary(op, eval_in(l, x, env), eval_in(r, x, env)),
            NodeKind::If(c, t, e) => {
                if eval_in(c, x, env) != 0.0 {
                    eval_in(t, x, env)
                } else {
                    eval_in(e, x, env)
                }
            }
            NodeKind::Call(f, args) => {
                let values: Vec<f64> = args.iter().map(|a| eval_in(a, x, env)).collect();
                f.apply(&values)
            }
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
            // Local values, in each of the three ways of running a program.
            "e -> let c = e // 10 in let t = e - 10 * c in 0.5 ** c * (1 - t / 10)",
            "e -> let w = e < 5 in if w then (let s = e / 5 in s * s) else 0.9 ** (e - 5)",
            "e -> let a = sin(e) in let b = a * 2 in clamp(a, b - 1, max(b, a + 1)) + a",
            "e -> let c = e * 3 in e - (c * (e - (e * (e - (c * (e - (e * (c - (e * (e - c))))))))))",
            "e -> let c = e // 10 in sqrt(0.5 ** c) + 1",
            // Aliases: a constant, the parameter, another local.
            "e -> let k = 2 in let x = e in let y = x * k in let z = y in z + y",
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
        // Each of the six ways of running a program is exercised above.
        for stack in [
            Stack::None,
            Stack::Small,
            Stack::Large,
            Stack::NoneLocals,
            Stack::SmallLocals,
            Stack::LargeLocals,
        ] {
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

    /// Where `text` first breaks at `x`: the sub-expression, the operation, the value.
    fn fault_at(text: &str, x: f64) -> Option<(String, String, f64)> {
        let f = Lambda::from_text(text).unwrap();
        let fault = f.first_fault(x)?;
        let written = text[fault.span.start..fault.span.end].to_string();
        Some((written, fault.operation.to_string(), fault.value))
    }

    #[test]
    fn the_first_fault_is_the_first_operation_to_break() {
        let fault = |text, x| fault_at(text, x).map(|(w, op, v)| (w, op, v.to_string()));
        let some = |w: &str, op: &str, v: &str| Some((w.into(), op.into(), v.into()));
        assert_eq!(
            fault("e -> sin(e) / e", 0.0),
            some("sin(e) / e", "0 / 0", "NaN")
        );
        assert_eq!(fault("e -> sin(e) / e", 1.0), None);
        // Only an operation with finite operands breaks: `inf * 2` carries the break along.
        assert_eq!(
            fault("e -> (1 / (e - 3)) * 2", 3.0),
            some("1 / (e - 3)", "1 / 0", "inf")
        );
        assert_eq!(
            fault("e -> log(3 - e)", 5.0),
            some("log(3 - e)", "log(-2)", "NaN")
        );
        assert_eq!(
            fault("e -> exp(e) ** 2", 800.0),
            some("exp(e)", "exp(800)", "inf")
        );
        // In evaluation order: left operand first, the condition before its branch.
        assert_eq!(
            fault("e -> (1 / e) + log(e)", 0.0),
            some("1 / e", "1 / 0", "inf")
        );
        assert_eq!(
            fault("e -> log(e) + (1 / e)", 0.0),
            some("log(e)", "log(0)", "-inf")
        );
        assert_eq!(
            fault("e -> if 1 / e > 0 then 1 else sqrt(e - 1)", 0.0),
            some("1 / e", "1 / 0", "inf")
        );
        assert_eq!(fault("e -> if e > 2 then 1 / (e - 3) else 1", 1.0), None);
    }

    #[test]
    fn a_constant_that_broke_when_folded_breaks_where_it_is_evaluated() {
        let fault = |text, x| fault_at(text, x).map(|(w, op, _)| (w, op));
        let some = |w: &str, op: &str| Some((w.into(), op.into()));
        assert_eq!(fault("e -> e * (1 / 0)", 2.0), some("1 / 0", "1 / 0"));
        assert_eq!(fault("e -> 0 / 0", 2.0), some("0 / 0", "0 / 0"));
        // A constant on the left comes before the right operand's operations (`ConstBinary`),
        // on the right after the left's (`BinaryConst`).
        assert_eq!(
            fault("e -> log(0) * (1 / e)", 0.0),
            some("log(0)", "log(0)")
        );
        assert_eq!(fault("e -> (1 / e) * log(0)", 0.0), some("1 / e", "1 / 0"));
        assert_eq!(
            fault("e -> min(1 / 0, e) + log(-e)", 1.0),
            some("1 / 0", "1 / 0")
        );
        // Folded through a constant condition, only in the branch taken.
        assert_eq!(
            fault("e -> if 1 / 0 > 0 then e / 0 else 2", 1.0),
            some("1 / 0", "1 / 0")
        );
        assert_eq!(
            fault("e -> if e == 1 then 0 / 0 else 1", 1.0),
            some("0 / 0", "0 / 0")
        );
        assert_eq!(fault("e -> if e == 1 then 0 / 0 else 1", 2.0), None);
        assert_eq!(fault("e -> if 2 > 1 then e else log(0)", 1.0), None);
    }
}
