//===- VariantBuilder.cpp - attention variants from C++, without MLIR -----===//
//
// Expressions are trees of shared nodes; toMlir() prints each region by a
// post-order walk that gives every node one SSA value, and equal op text one
// value (the ops are pure), so a subexpression used or written twice is
// computed once. Type errors travel as error nodes to the region's root and
// come out of toMlir() as a Status, never as an exception (the runtime is
// built without them).
//
//===----------------------------------------------------------------------===//

#include "attn/VariantBuilder.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

using namespace attn;

//===----------------------------------------------------------------------===//
// Nodes
//===----------------------------------------------------------------------===//

struct Expr::Node {
  enum Kind { Constant, Var, Scalar, Extract, Op, Error };
  Kind kind = Error;
  ScalarType type = ScalarType::Index;
  /// Constant: the value (integers exactly; f32 already rounded).
  int64_t intValue = 0;
  float floatValue = 0;
  /// Var: the index's name ("i"); Op: the operation ("add", "cmp.lt", ...);
  /// Error: the message.
  std::string name;
  std::vector<std::shared_ptr<const Node>> operands;
  /// Scalar and Extract: the capture.
  std::shared_ptr<const VariantCapture::Info> capture;
};

using NodePtr = std::shared_ptr<const Expr::Node>;

namespace {

NodePtr makeNode(Expr::Node n) {
  return std::make_shared<Expr::Node>(std::move(n));
}

NodePtr errorNode(std::string message) {
  Expr::Node n;
  n.kind = Expr::Node::Error;
  n.name = std::move(message);
  return makeNode(std::move(n));
}

NodePtr intConstant(int64_t v) {
  Expr::Node n;
  n.kind = Expr::Node::Constant;
  n.type = ScalarType::Index;
  n.intValue = v;
  return makeNode(std::move(n));
}

NodePtr opNode(std::string name, ScalarType type,
               std::vector<NodePtr> operands) {
  for (const NodePtr &o : operands)
    if (o->kind == Expr::Node::Error)
      return o;
  Expr::Node n;
  n.kind = Expr::Node::Op;
  n.type = type;
  n.name = std::move(name);
  n.operands = std::move(operands);
  return makeNode(std::move(n));
}

bool isInteger(ScalarType t) {
  return t == ScalarType::Index || t == ScalarType::I32 || t == ScalarType::I64;
}

const char *typeName(ScalarType t) {
  switch (t) {
  case ScalarType::Index:
    return "index";
  case ScalarType::I32:
    return "i32";
  case ScalarType::I64:
    return "i64";
  case ScalarType::F32:
    return "f32";
  case ScalarType::Bool:
    return "i1";
  }
  return "?";
}

/// `x` converted to `to` (integers widen or become index; integers become
/// f32), or an error node.
NodePtr convert(const NodePtr &x, ScalarType to) {
  if (x->kind == Expr::Node::Error || x->type == to)
    return x;
  if (x->type == ScalarType::Bool || to == ScalarType::Bool)
    return errorNode(std::string("a boolean cannot be used as ") +
                     typeName(to == ScalarType::Bool ? x->type : to) +
                     " (nor the other way round)");
  if (x->type == ScalarType::F32)
    return errorNode(std::string("an f32 value cannot be used as ") +
                     typeName(to) +
                     " (there is no implicit float-to-integer "
                     "conversion)");
  if (to == ScalarType::F32) {
    NodePtr wide =
        x->type == ScalarType::Index ? convert(x, ScalarType::I64) : x;
    return opNode("sitofp", ScalarType::F32, {wide});
  }
  if (x->type == ScalarType::Index || to == ScalarType::Index)
    return opNode("index_cast", to, {x});
  // i32 -> i64
  return opNode("extsi", to, {x});
}

/// The common type of two operands: f32 over integers, index over i64 over
/// i32; booleans only with booleans.
ScalarType common(ScalarType x, ScalarType y) {
  if (x == y)
    return x;
  if (x == ScalarType::Bool || y == ScalarType::Bool)
    return ScalarType::Bool; // convert() reports it
  if (x == ScalarType::F32 || y == ScalarType::F32)
    return ScalarType::F32;
  if (x == ScalarType::Index || y == ScalarType::Index)
    return ScalarType::Index;
  return ScalarType::I64;
}

/// A binary arithmetic op over numbers.
Expr arithmetic(const char *name, const Expr &x, const Expr &y) {
  const NodePtr &a = x.node(), &b = y.node();
  if (a->type == ScalarType::Bool || b->type == ScalarType::Bool)
    return Expr(errorNode(std::string("'") + name +
                          "' of a boolean: use &&, || and ! on masks"));
  ScalarType t = common(a->type, b->type);
  return Expr(opNode(name, t, {convert(a, t), convert(b, t)}));
}

/// A comparison (lt, le, gt, ge, eq, ne).
Expr comparison(const char *pred, const Expr &x, const Expr &y) {
  const NodePtr &a = x.node(), &b = y.node();
  ScalarType t = common(a->type, b->type);
  if (t == ScalarType::Bool && std::strcmp(pred, "eq") &&
      std::strcmp(pred, "ne"))
    return Expr(errorNode(std::string("ordering comparison '") + pred +
                          "' of booleans"));
  return Expr(opNode(std::string("cmp.") + pred, ScalarType::Bool,
                     {convert(a, t), convert(b, t)}));
}

Expr logical(const char *name, const Expr &x, const Expr &y) {
  const NodePtr &a = x.node(), &b = y.node();
  if (a->kind != Expr::Node::Error && a->type != ScalarType::Bool)
    return Expr(errorNode(std::string("'") + name + "' of a non-boolean (" +
                          typeName(a->type) + ")"));
  if (b->kind != Expr::Node::Error && b->type != ScalarType::Bool)
    return Expr(errorNode(std::string("'") + name + "' of a non-boolean (" +
                          typeName(b->type) + ")"));
  return Expr(opNode(name, ScalarType::Bool, {a, b}));
}

/// A math function of f32 (integers converted).
Expr mathFn(const char *name, const Expr &x) {
  if (x.node()->type == ScalarType::Bool)
    return Expr(errorNode(std::string(name) + " of a boolean"));
  return Expr(
      opNode(name, ScalarType::F32, {convert(x.node(), ScalarType::F32)}));
}

Expr variable(const std::string &name, ScalarType type) {
  Expr::Node n;
  n.kind = Expr::Node::Var;
  n.type = type;
  n.name = name;
  return Expr(makeNode(std::move(n)));
}

} // namespace

//===----------------------------------------------------------------------===//
// Expr
//===----------------------------------------------------------------------===//

Expr::Expr(int value) : root(intConstant(value)) {}
Expr::Expr(long value) : root(intConstant(value)) {}
Expr::Expr(long long value) : root(intConstant(value)) {}
Expr::Expr(double value) {
  Node n;
  n.kind = Node::Constant;
  n.type = ScalarType::F32;
  n.floatValue = static_cast<float>(value);
  root = makeNode(std::move(n));
}
Expr::Expr(std::shared_ptr<const Node> node) : root(std::move(node)) {}
ScalarType Expr::type() const { return root->type; }

Expr var::b() { return variable("b", ScalarType::Index); }
Expr var::h() { return variable("h", ScalarType::Index); }
Expr var::i() { return variable("i", ScalarType::Index); }
Expr var::j() { return variable("j", ScalarType::Index); }
Expr var::nq() { return variable("nq", ScalarType::Index); }
Expr var::nk() { return variable("nk", ScalarType::Index); }
Expr var::s() { return variable("s", ScalarType::F32); }
Expr var::out(int n) {
  if (n < 0)
    return Expr(errorNode("out(" + std::to_string(n) + "): attentions are "
                          "numbered from 0"));
  return variable("o" + std::to_string(n), ScalarType::F32);
}
Expr var::dv() { return variable("dv", ScalarType::Index); }

Expr attn::operator+(const Expr &x, const Expr &y) {
  return arithmetic("add", x, y);
}
Expr attn::operator-(const Expr &x, const Expr &y) {
  return arithmetic("sub", x, y);
}
Expr attn::operator*(const Expr &x, const Expr &y) {
  return arithmetic("mul", x, y);
}
Expr attn::operator/(const Expr &x, const Expr &y) {
  return arithmetic("div", x, y);
}
Expr attn::operator%(const Expr &x, const Expr &y) {
  return arithmetic("rem", x, y);
}
Expr attn::operator-(const Expr &x) {
  if (x.type() == ScalarType::F32)
    return Expr(opNode("neg", ScalarType::F32, {x.node()}));
  return Expr(0) - x;
}
Expr attn::operator<(const Expr &x, const Expr &y) {
  return comparison("lt", x, y);
}
Expr attn::operator<=(const Expr &x, const Expr &y) {
  return comparison("le", x, y);
}
Expr attn::operator>(const Expr &x, const Expr &y) {
  return comparison("gt", x, y);
}
Expr attn::operator>=(const Expr &x, const Expr &y) {
  return comparison("ge", x, y);
}
Expr attn::operator==(const Expr &x, const Expr &y) {
  return comparison("eq", x, y);
}
Expr attn::operator!=(const Expr &x, const Expr &y) {
  return comparison("ne", x, y);
}
Expr attn::operator&&(const Expr &x, const Expr &y) {
  return logical("and", x, y);
}
Expr attn::operator||(const Expr &x, const Expr &y) {
  return logical("or", x, y);
}
Expr attn::operator!(const Expr &x) {
  if (x.node()->kind != Expr::Node::Error && x.type() != ScalarType::Bool)
    return Expr(errorNode(std::string("'!' of a non-boolean (") +
                          typeName(x.type()) + ")"));
  return Expr(opNode("not", ScalarType::Bool, {x.node()}));
}

Expr attn::floorDiv(const Expr &x, const Expr &y) {
  if (!isInteger(x.type()) || !isInteger(y.type()))
    return Expr(errorNode("floorDiv of a non-integer"));
  return arithmetic("floordiv", x, y);
}
Expr attn::min(const Expr &x, const Expr &y) { return arithmetic("min", x, y); }
Expr attn::max(const Expr &x, const Expr &y) { return arithmetic("max", x, y); }
Expr attn::clamp(const Expr &x, const Expr &lo, const Expr &hi) {
  return min(max(x, lo), hi);
}
Expr attn::select(const Expr &cond, const Expr &x, const Expr &y) {
  if (cond.node()->kind != Expr::Node::Error && cond.type() != ScalarType::Bool)
    return Expr(errorNode("the condition of select is not a boolean"));
  ScalarType t = common(x.type(), y.type());
  return Expr(opNode(
      "select", t, {cond.node(), convert(x.node(), t), convert(y.node(), t)}));
}
Expr attn::abs(const Expr &x) {
  if (x.type() == ScalarType::Bool)
    return Expr(errorNode("abs of a boolean"));
  if (x.type() == ScalarType::F32)
    return mathFn("absf", x);
  return max(x, -x);
}
Expr attn::exp(const Expr &x) { return mathFn("exp", x); }
Expr attn::log(const Expr &x) { return mathFn("log", x); }
Expr attn::tanh(const Expr &x) { return mathFn("tanh", x); }
Expr attn::sqrt(const Expr &x) { return mathFn("sqrt", x); }
Expr attn::toF32(const Expr &x) {
  return Expr(convert(x.node(), ScalarType::F32));
}

namespace {
NodePtr substitute(const NodePtr &n, const NodePtr &s,
                   std::map<const Expr::Node *, NodePtr> &memo) {
  if (n->kind == Expr::Node::Var && n->name == "s")
    return s;
  if (n->operands.empty())
    return n;
  auto it = memo.find(n.get());
  if (it != memo.end())
    return it->second;
  Expr::Node copy = *n;
  for (NodePtr &o : copy.operands)
    o = substitute(o, s, memo);
  NodePtr r = copy.operands.size() && copy.kind == Expr::Node::Op
                  ? opNode(copy.name, copy.type, copy.operands)
                  : makeNode(std::move(copy));
  memo[n.get()] = r;
  return r;
}
} // namespace

Expr attn::compose(const Expr &outer, const Expr &inner) {
  std::map<const Expr::Node *, NodePtr> memo;
  return Expr(substitute(outer.node(), inner.node(), memo));
}

//===----------------------------------------------------------------------===//
// VariantCapture
//===----------------------------------------------------------------------===//

VariantCapture VariantCapture::scalar(std::string name, Gen gen) {
  auto info = std::make_shared<Info>();
  info->name = std::move(name);
  info->gen = std::move(gen);
  VariantCapture c;
  c.data = std::move(info);
  return c;
}

VariantCapture VariantCapture::tensor(std::string name, ScalarType element,
                                      std::vector<Dim> dims, Gen gen) {
  auto info = std::make_shared<Info>();
  info->name = std::move(name);
  info->isTensor = true;
  info->element = element;
  info->dims = std::move(dims);
  info->gen = std::move(gen);
  VariantCapture c;
  c.data = std::move(info);
  return c;
}

Expr VariantCapture::value() const {
  if (data->isTensor)
    return Expr(errorNode("capture '" + data->name +
                          "' is a tensor: read it with capture(indices...)"));
  Expr::Node n;
  n.kind = Expr::Node::Scalar;
  n.type = ScalarType::Index;
  n.capture = data;
  return Expr(makeNode(std::move(n)));
}

Expr VariantCapture::operator()(std::initializer_list<Expr> indices) const {
  if (!data->isTensor)
    return Expr(errorNode("capture '" + data->name +
                          "' is a scalar: use value(), not indices"));
  if (indices.size() != data->dims.size())
    return Expr(errorNode("capture '" + data->name + "' has " +
                          std::to_string(data->dims.size()) +
                          " dimensions, read with " +
                          std::to_string(indices.size()) + " indices"));
  if (data->element != ScalarType::F32 && data->element != ScalarType::I32 &&
      data->element != ScalarType::I64)
    return Expr(errorNode("capture '" + data->name +
                          "': elements must be f32, i32 or i64"));
  std::vector<NodePtr> operands;
  for (const Expr &e : indices) {
    if (e.type() == ScalarType::F32 || e.type() == ScalarType::Bool)
      return Expr(errorNode("capture '" + data->name + "' indexed by " +
                            typeName(e.type()) + " (indices are integers)"));
    operands.push_back(convert(e.node(), ScalarType::Index));
  }
  for (const NodePtr &o : operands)
    if (o->kind == Expr::Node::Error)
      return Expr(o);
  Expr::Node n;
  n.kind = Expr::Node::Extract;
  n.type = data->element;
  n.capture = data;
  n.operands = std::move(operands);
  return Expr(makeNode(std::move(n)));
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

namespace {

/// `text` (printf's %g) as an MLIR float literal: a '.' before any exponent.
std::string withPoint(std::string text) {
  if (text.find('.') != std::string::npos)
    return text;
  size_t e = text.find('e');
  return e == std::string::npos ? text + ".0" : text.insert(e, ".0");
}

/// A finite double as a literal that parses back to the same value.
std::string floatLiteral(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return withPoint(buf);
}

/// An f32 constant's literal: shortest round-trip digits, or the bit
/// pattern of a non-finite value.
std::string f32Literal(float v) {
  char buf[40];
  if (!std::isfinite(v)) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    std::snprintf(buf, sizeof buf, "0x%08X", bits);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return withPoint(buf);
}

bool validName(const std::string &name) {
  if (name.empty() ||
      !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

std::string tensorType(const VariantCapture::Info &c) {
  std::string t = "tensor<";
  for (const Dim &d : c.dims)
    t += (d.size >= 0 ? std::to_string(d.size) : std::string("?")) + "x";
  return t + typeName(c.element) + ">";
}

std::string captureType(const VariantCapture::Info &c) {
  return c.isTensor ? tensorType(c) : "index";
}

std::string genAttr(const Gen &g) {
  std::string s = "#attn.gen<" + g.kind;
  if (g.bounded)
    s += ", " + floatLiteral(g.lo) + ", " + floatLiteral(g.hi);
  return s + ">";
}

/// Prints one region's body.
class RegionPrinter {
public:
  RegionPrinter(std::ostringstream &os,
                const std::map<std::string, std::string> &captureArgs)
      : os(os), captureArgs(captureArgs) {}

  /// The SSA name of `n`, printing its ops first.
  std::string value(const NodePtr &n) {
    auto it = names.find(n.get());
    if (it != names.end())
      return it->second;
    std::string r = print(n);
    names[n.get()] = r;
    return r;
  }

private:
  std::string fresh() { return "%x" + std::to_string(next++); }
  /// The value of `rhs`: ops are pure, so equal text is one value (the
  /// same expression written twice is computed once).
  std::string line(const std::string &rhs) {
    auto it = byText.find(rhs);
    if (it != byText.end())
      return it->second;
    std::string v = fresh();
    os << "        " << v << " = " << rhs << "\n";
    return byText[rhs] = v;
  }

  std::string print(const NodePtr &n) {
    using K = Expr::Node;
    switch (n->kind) {
    case K::Var:
      return "%" + n->name;
    case K::Scalar:
      return captureArgs.at(n->capture->name);
    case K::Constant:
      return line("arith.constant " +
                  (n->type == ScalarType::F32
                       ? f32Literal(n->floatValue) + " : f32"
                       : std::to_string(n->intValue) + " : index"));
    case K::Extract: {
      std::string idx;
      for (const NodePtr &o : n->operands)
        idx += (idx.empty() ? "" : ", ") + value(o);
      return line("tensor.extract " + captureArgs.at(n->capture->name) + "[" +
                  idx + "] : " + tensorType(*n->capture));
    }
    case K::Op:
      return printOp(n);
    case K::Error:
      break;
    }
    return "%error";
  }

  std::string printOp(const NodePtr &n) {
    std::vector<std::string> in;
    for (const NodePtr &o : n->operands)
      in.push_back(value(o));
    const std::string &op = n->name;
    ScalarType t = n->operands.empty() ? n->type : n->operands[0]->type;
    bool isFloat = t == ScalarType::F32;
    std::string ty = typeName(t);
    auto binary = [&](const char *intOp, const char *floatOp) {
      return line(std::string(isFloat ? floatOp : intOp) + " " + in[0] + ", " +
                  in[1] + " : " + ty);
    };
    if (op == "add")
      return binary("arith.addi", "arith.addf");
    if (op == "sub")
      return binary("arith.subi", "arith.subf");
    if (op == "mul")
      return binary("arith.muli", "arith.mulf");
    if (op == "div")
      return binary("arith.divsi", "arith.divf");
    if (op == "rem")
      return binary("arith.remsi", "arith.remf");
    if (op == "floordiv")
      return binary("arith.floordivsi", "arith.floordivsi");
    if (op == "min")
      return binary("arith.minsi", "arith.minimumf");
    if (op == "max")
      return binary("arith.maxsi", "arith.maximumf");
    if (op == "and")
      return line("arith.andi " + in[0] + ", " + in[1] + " : i1");
    if (op == "or")
      return line("arith.ori " + in[0] + ", " + in[1] + " : i1");
    if (op == "not") {
      if (trueValue.empty())
        trueValue = line("arith.constant true");
      return line("arith.xori " + in[0] + ", " + trueValue + " : i1");
    }
    if (op == "neg")
      return line("arith.negf " + in[0] + " : f32");
    if (op.rfind("cmp.", 0) == 0) {
      std::string p = op.substr(4);
      if (t == ScalarType::Bool) // eq / ne of booleans
        return line("arith.cmpi " + p + ", " + in[0] + ", " + in[1] + " : i1");
      static const std::map<std::string, std::pair<const char *, const char *>>
          preds = {{"lt", {"slt", "olt"}}, {"le", {"sle", "ole"}},
                   {"gt", {"sgt", "ogt"}}, {"ge", {"sge", "oge"}},
                   {"eq", {"eq", "oeq"}},  {"ne", {"ne", "une"}}};
      auto [ip, fp] = preds.at(p);
      return line(std::string(isFloat ? "arith.cmpf " : "arith.cmpi ") +
                  (isFloat ? fp : ip) + ", " + in[0] + ", " + in[1] + " : " +
                  ty);
    }
    if (op == "select")
      return line("arith.select " + in[0] + ", " + in[1] + ", " + in[2] +
                  " : " + typeName(n->type));
    if (op == "sitofp" || op == "index_cast" || op == "extsi")
      return line("arith." + op + " " + in[0] + " : " + ty + " to " +
                  typeName(n->type));
    // math.* of f32
    return line("math." + op + " " + in[0] + " : f32");
  }

  std::ostringstream &os;
  const std::map<std::string, std::string> &captureArgs;
  std::map<const Expr::Node *, std::string> names;
  std::map<std::string, std::string> byText;
  std::string trueValue;
  int next = 0;
};

/// The names of the variables `n` reads.
void varsOf(const NodePtr &n, std::set<std::string> &out) {
  if (n->kind == Expr::Node::Var)
    out.insert(n->name);
  for (const NodePtr &o : n->operands)
    varsOf(o, out);
}

/// The first variable of `n` that is not in `allowed`, or empty.
std::string foreignVar(const NodePtr &n,
                       std::initializer_list<const char *> allowed) {
  std::set<std::string> vars;
  varsOf(n, vars);
  for (const std::string &v : vars)
    if (std::none_of(allowed.begin(), allowed.end(),
                     [&](const char *a) { return v == a; }))
      return v;
  return "";
}

/// The first error node under `n`, if any.
const Expr::Node *findError(const NodePtr &n) {
  if (n->kind == Expr::Node::Error)
    return n.get();
  for (const NodePtr &o : n->operands)
    if (const Expr::Node *e = findError(o))
      return e;
  return nullptr;
}

/// Adds the captures `n` reads, in the order first read, and whether it
/// reads the score.
void collect(const NodePtr &n,
             std::vector<std::shared_ptr<const VariantCapture::Info>> &out,
             bool &readsScore) {
  if (n->kind == Expr::Node::Var && n->name == "s")
    readsScore = true;
  if (n->capture) {
    bool seen = false;
    for (auto &c : out)
      seen |= c == n->capture;
    if (!seen)
      out.push_back(n->capture);
  }
  for (const NodePtr &o : n->operands)
    collect(o, out, readsScore);
}

} // namespace

//===----------------------------------------------------------------------===//
// VariantBuilder
//===----------------------------------------------------------------------===//

VariantBuilder::VariantBuilder(std::string name) : fnName(std::move(name)) {}

VariantBuilder &VariantBuilder::heads(int64_t q, int64_t kv) {
  hq = q;
  hkv = kv;
  return *this;
}
VariantBuilder &VariantBuilder::headDim(int64_t qk, int64_t v) {
  d = qk;
  dv = v;
  return *this;
}
VariantBuilder &VariantBuilder::elementType(ElementType type) {
  element = type;
  return *this;
}
VariantBuilder &VariantBuilder::batch(int64_t b) {
  batchSize = b;
  return *this;
}
VariantBuilder &VariantBuilder::lengths(int64_t q, int64_t k) {
  nq = q;
  nk = k;
  return *this;
}
VariantBuilder &VariantBuilder::normalizer(Normalizer n) {
  norm = std::move(n);
  return *this;
}
VariantBuilder &VariantBuilder::scale(double s) {
  hasScale = true;
  scaleValue = s;
  return *this;
}
VariantBuilder &VariantBuilder::lse(bool on) {
  withLse = on;
  return *this;
}
VariantBuilder &VariantBuilder::mask(Expr m) {
  maskExpr = m.node();
  return *this;
}
VariantBuilder &VariantBuilder::score(Expr s) {
  scoreExpr = s.node();
  return *this;
}
VariantBuilder &VariantBuilder::sinkLogits(VariantCapture s) {
  sinks = std::make_shared<VariantCapture::Info>(s.info());
  return *this;
}
VariantBuilder &VariantBuilder::capture(VariantCapture c) {
  captures.push_back(std::move(c));
  return *this;
}

/// A variant's attention op as toMlir and ProgramBuilder print it: its
/// captures (in argument order, with their region block-argument names),
/// types and score region, validated.
struct VariantBuilder::Prepared {
  std::vector<std::shared_ptr<const VariantCapture::Info>> args;
  std::map<std::string, std::string> captureArgs;
  std::string qT, kT, vT, oT, lseT;
  std::shared_ptr<const Expr::Node> scoreRoot;
  bool hasScore = false;
};

Expected<VariantBuilder::Prepared> VariantBuilder::prepare() const {
  auto fail = [&](const std::string &why) -> Expected<Prepared> {
    return Status::error("variant '" + fnName + "': " + why);
  };
  if (!validName(fnName))
    return fail("the name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  int64_t kvHeads = hkv ? hkv : hq;
  int64_t vDim = dv ? dv : d;
  if (hq <= 0 || kvHeads <= 0 || hq % kvHeads)
    return fail("query heads (" + std::to_string(hq) +
                ") must be a positive multiple of the KV heads (" +
                std::to_string(kvHeads) + ")");
  if (d <= 0 || vDim <= 0)
    return fail("head dims must be positive");
  if (batchSize < 0 || nq < 0 || nk < 0)
    return fail("the batch and lengths must be 0 (dynamic) or positive");
  if (hasScale && !std::isfinite(scaleValue))
    return fail("the scale must be finite");
  if (norm.hasBias && !std::isfinite(norm.bias))
    return fail("the normalizer's bias must be finite");
  if (withLse && norm.kind != "softmax")
    return fail("lse needs the softmax normalizer");
  if (sinks && norm.kind != "softmax")
    return fail("sink logits need the softmax normalizer");

  // Regions: types and errors.
  std::vector<std::shared_ptr<const VariantCapture::Info>> used;
  for (const VariantCapture &c : captures)
    used.push_back(std::make_shared<VariantCapture::Info>(c.info()));
  bool maskReadsScore = false, scoreReadsScore = false;
  if (maskExpr) {
    if (const Expr::Node *e = findError(maskExpr))
      return fail("mask: " + e->name);
    if (maskExpr->type != ScalarType::Bool)
      return fail(std::string("the mask must be a boolean expression, not ") +
                  typeName(maskExpr->type));
    collect(maskExpr, used, maskReadsScore);
    if (maskReadsScore)
      return fail("the mask reads the score s (only score modifications may)");
    std::string foreign =
        foreignVar(maskExpr, {"b", "h", "i", "j", "nq", "nk"});
    if (!foreign.empty())
      return fail("the mask reads '" + foreign +
                  "', which only a program's epilogue sees");
  }
  bool hasScore = scoreExpr && !(scoreExpr->kind == Expr::Node::Var &&
                                 scoreExpr->name == "s");
  NodePtr scoreRoot = scoreExpr;
  if (hasScore) {
    if (const Expr::Node *e = findError(scoreExpr))
      return fail("score: " + e->name);
    if (scoreExpr->type == ScalarType::Bool)
      return fail("the score modification must be f32, not a boolean (a "
                  "boolean belongs in mask())");
    scoreRoot = convert(scoreExpr, ScalarType::F32);
    collect(scoreRoot, used, scoreReadsScore);
    std::string foreign =
        foreignVar(scoreRoot, {"b", "h", "i", "j", "nq", "nk", "s"});
    if (!foreign.empty())
      return fail("the score reads '" + foreign +
                  "', which only a program's epilogue sees");
  }
  // One capture per name (the same Info may come from several copies).
  std::vector<std::shared_ptr<const VariantCapture::Info>> args;
  for (auto &c : used) {
    bool dup = false;
    for (auto &a : args) {
      if (a->name != c->name)
        continue;
      dup = true;
      if (captureType(*a) != captureType(*c))
        return fail("two different captures are named '" + c->name + "'");
    }
    if (!dup)
      args.push_back(c);
  }
  static const char *reserved[] = {"q", "k", "v",  "o",  "lse", "b",    "h",
                                   "i", "j", "nq", "nk", "s",   "sinks"};
  std::map<std::string, std::string> captureArgs;
  for (auto &c : args) {
    if (!validName(c->name))
      return fail("capture name '" + c->name + "' is not an identifier");
    for (const char *r : reserved)
      if (c->name == r)
        return fail("capture name '" + c->name + "' is taken");
    if (c->name.rfind("x", 0) == 0 && c->name.size() > 1 &&
        std::isdigit(static_cast<unsigned char>(c->name[1])))
      return fail("capture name '" + c->name +
                  "' is taken (x<N> names "
                  "the builder's values)");
    if (c->gen.bounded &&
        !(std::isfinite(c->gen.lo) && std::isfinite(c->gen.hi) &&
          c->gen.lo <= c->gen.hi))
      return fail("capture '" + c->name + "': the generator's bounds must be "
                  "finite with lo <= hi");
    if (c->isTensor) {
      if (c->dims.empty())
        return fail("capture '" + c->name + "' has no dimensions");
      for (const Dim &dm : c->dims)
        if (dm.size < 0 && dm.symbol != "b" && dm.symbol != "hq" &&
            dm.symbol != "hkv" && dm.symbol != "nq" && dm.symbol != "nk")
          return fail("capture '" + c->name +
                      "': a dimension is a fixed size "
                      "or one of b, hq, hkv, nq, nk, not '" +
                      dm.symbol + "'");
    }
    // Block arguments get their own names: a region sees the function's
    // (IsolatedFromAbove does not scope names in the parser).
    captureArgs[c->name] = "%c_" + c->name;
  }
  if (sinks) {
    if (!sinks->isTensor || sinks->element != ScalarType::F32 ||
        sinks->dims.size() != 1 || sinks->dims[0].size != hq)
      return fail("sink logits must be a tensor<" + std::to_string(hq) +
                  "xf32> (one per query head)");
  }

  auto dim = [](int64_t n) {
    return n > 0 ? std::to_string(n) : std::string("?");
  };
  const char *el = element == ElementType::F16    ? "f16"
                   : element == ElementType::BF16 ? "bf16"
                                                  : "f32";
  auto t4 = [&](int64_t heads, int64_t len, int64_t hd) {
    return "tensor<" + dim(batchSize) + "x" + std::to_string(heads) + "x" +
           dim(len) + "x" + std::to_string(hd) + "x" + el + ">";
  };
  std::string qT = t4(hq, nq, d), kT = t4(kvHeads, nk, d),
              vT = t4(kvHeads, nk, vDim), oT = t4(hq, nq, vDim);
  std::string lseT = "tensor<" + dim(batchSize) + "x" + std::to_string(hq) +
                     "x" + dim(nq) + "xf32>";
  Prepared prepared;
  prepared.args = std::move(args);
  prepared.captureArgs = std::move(captureArgs);
  prepared.qT = qT;
  prepared.kT = kT;
  prepared.vT = vT;
  prepared.oT = oT;
  prepared.lseT = lseT;
  prepared.scoreRoot = scoreRoot;
  prepared.hasScore = hasScore;
  return prepared;
}

/// The function arguments of `args` (after q, k, v): their types, test
/// generators and symbolic dimensions.
static void printCaptureArguments(
    std::ostringstream &os,
    const std::vector<std::shared_ptr<const VariantCapture::Info>> &args) {
  for (auto &c : args) {
    os << ",\n    %" << c->name << ": " << captureType(*c)
       << " {attn.gen = " << genAttr(c->gen);
    bool symbolic = false;
    for (const Dim &dm : c->dims)
      symbolic |= dm.size < 0;
    if (symbolic) {
      os << ", attn.dims = [";
      for (size_t k = 0; k < c->dims.size(); ++k)
        os << (k ? ", " : "")
           << (c->dims[k].size >= 0 ? std::to_string(c->dims[k].size)
                                    : "\"" + c->dims[k].symbol + "\"");
      os << "]";
    }
    os << "}";
  }
}

void VariantBuilder::printAttention(std::ostringstream &os,
                                    const Prepared &p,
                                    const std::string &results,
                                    const std::string &q, const std::string &k,
                                    const std::string &v) const {
  const auto &args = p.args;
  const auto &captureArgs = p.captureArgs;
  os << "  " << results << " = attn.attention " << q << ", " << k << ", "
     << v;
  if (!args.empty()) {
    os << " captures(";
    for (size_t a = 0; a < args.size(); ++a)
      os << (a ? ", " : "") << "%" << args[a]->name;
    os << " : ";
    for (size_t a = 0; a < args.size(); ++a)
      os << (a ? ", " : "") << captureType(*args[a]);
    os << ")";
  }
  if (sinks)
    os << " sink_logits(%sinks : " << tensorType(*sinks) << ")";
  os << "\n      {normalizer = #attn.normalizer<" << norm.kind;
  if (norm.hasBias)
    os << ", bias = " << floatLiteral(norm.bias);
  os << ">";
  if (hasScale)
    os << ", scale = " << floatLiteral(scaleValue) << " : f64";
  os << "}\n      : " << p.qT << ", " << p.kT << ", " << p.vT << " -> "
     << p.oT;
  if (withLse)
    os << ", " << p.lseT;
  os << "\n";
  std::string captureBlockArgs;
  for (auto &c : args)
    captureBlockArgs += ", " + captureArgs.at(c->name) + ": " + captureType(*c);
  const char *indexArgs = "%b: index, %h: index, %i: index, %j: index, "
                          "%nq: index, %nk: index";
  if (p.hasScore) {
    os << "      score {\n      ^bb0(%s: f32, " << indexArgs
       << captureBlockArgs << "):\n";
    RegionPrinter printer(os, captureArgs);
    std::string r = printer.value(p.scoreRoot);
    os << "        attn.yield " << r << " : f32\n      }\n";
  }
  if (maskExpr) {
    os << "      mask {\n      ^bb0(" << indexArgs << captureBlockArgs
       << "):\n";
    RegionPrinter printer(os, captureArgs);
    std::string r = printer.value(maskExpr);
    os << "        attn.yield " << r << " : i1\n      }\n";
  }
}

Expected<std::string> VariantBuilder::toMlir() const {
  Expected<Prepared> p = prepare();
  if (!p)
    return p.status();
  std::ostringstream os;
  os << "// Built by attn::VariantBuilder.\n";
  os << "func.func @" << fnName << "(%q: " << p->qT << ", %k: " << p->kT
     << ", %v: " << p->vT;
  printCaptureArguments(os, p->args);
  if (sinks)
    os << ",\n    %sinks: " << tensorType(*sinks)
       << " {attn.gen = " << genAttr(sinks->gen) << "}";
  std::string results =
      withLse ? "(" + p->oT + ", " + p->lseT + ")" : p->oT;
  os << ") -> " << results << " {\n";
  printAttention(os, *p, withLse ? "%o, %lse" : "%o", "%q", "%k", "%v");
  os << "  return "
     << (withLse ? "%o, %lse : " + p->oT + ", " + p->lseT : "%o : " + p->oT)
     << "\n}\n";
  return os.str();
}

//===----------------------------------------------------------------------===//
// ProgramBuilder
//===----------------------------------------------------------------------===//

ProgramBuilder::ProgramBuilder(std::string name) : fnName(std::move(name)) {}

ProgramBuilder &ProgramBuilder::attention(VariantBuilder variant,
                                          std::string q, std::string k,
                                          std::string v) {
  branches.push_back({std::move(variant), std::move(q), std::move(k),
                      std::move(v)});
  return *this;
}

ProgramBuilder &ProgramBuilder::epilogue(Expr e) {
  epilogueExpr = e.node();
  return *this;
}

/// Whether `name` could collide with a name the printed program defines: the
/// region indices, the builder's values (x<N>), the attentions' results
/// (att<N>), the epilogue's inputs and result (o<N>, in<N>, o_*) and region
/// captures (c_*).
static bool reservedProgramName(const std::string &name) {
  static const char *fixed[] = {"b", "h", "i", "j", "nq", "nk", "s", "dv",
                                "sinks", "o"};
  for (const char *f : fixed)
    if (name == f)
      return true;
  for (const char *prefix : {"x", "o", "att", "in"}) {
    size_t n = std::strlen(prefix);
    if (name.size() > n && name.compare(0, n, prefix) == 0 &&
        std::all_of(name.begin() + n, name.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return true;
  }
  return name.rfind("c_", 0) == 0 || name.rfind("o_", 0) == 0;
}

Expected<std::string> ProgramBuilder::toMlir() const {
  auto fail = [&](const std::string &why) -> Expected<std::string> {
    return Status::error("program '" + fnName + "': " + why);
  };
  if (!validName(fnName))
    return fail("the name must be an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  if (branches.empty())
    return fail("no attention (add one with attention())");
  if (!epilogueExpr && branches.size() > 1)
    return fail("several attentions need an epilogue() combining their "
                "outputs");

  // The attentions: validated, their q, k, v arguments and captures merged
  // by name.
  std::vector<VariantBuilder::Prepared> prepared;
  // Name, type and whether the tensor runs over the keys (k and v).
  struct TensorArg {
    std::string name, type;
    bool overKeys;
  };
  std::vector<TensorArg> tensorArgs;
  std::vector<std::shared_ptr<const VariantCapture::Info>> captures;
  auto addCapture = [&](const std::shared_ptr<const VariantCapture::Info> &c)
      -> std::string {
    for (auto &a : captures)
      if (a->name == c->name)
        return captureType(*a) == captureType(*c)
                   ? ""
                   : "two different captures are named '" + c->name + "'";
    captures.push_back(c);
    return "";
  };
  for (size_t n = 0; n < branches.size(); ++n) {
    const Branch &branch = branches[n];
    std::string which = "attention " + std::to_string(n) + " ('" +
                        branch.variant.name() + "')";
    Expected<VariantBuilder::Prepared> p = branch.variant.prepare();
    if (!p)
      return fail(which + ": " + p.message());
    if (branch.variant.withLse || branch.variant.sinks)
      return fail(which + ": a program returns its epilogue's output only "
                          "(no lse, no sink logits)");
    const TensorArg operands[] = {{branch.q, p->qT, false},
                                  {branch.k, p->kT, true},
                                  {branch.v, p->vT, true}};
    for (const TensorArg &operand : operands) {
      const std::string &name = operand.name;
      if (!validName(name) || reservedProgramName(name))
        return fail(which + ": argument name '" + name +
                    "' is not an identifier or is taken");
      auto known = std::find_if(
          tensorArgs.begin(), tensorArgs.end(),
          [&name](const TensorArg &a) { return a.name == name; });
      if (known == tensorArgs.end())
        tensorArgs.push_back(operand);
      else if (known->type != operand.type)
        return fail(which + ": argument '" + name + "' is " + operand.type +
                    " here but " + known->type + " before");
      else if (known->overKeys != operand.overKeys)
        return fail(which + ": argument '" + name +
                    "' is a query here and keys or values elsewhere");
    }
    if (!prepared.empty() && p->oT != prepared.front().oT)
      return fail(which + ": its output " + p->oT + " differs from attention "
                  "0's " + prepared.front().oT +
                  " (the epilogue is element-wise)");
    for (auto &c : p->args)
      if (std::string why = addCapture(c); !why.empty())
        return fail(why);
    prepared.push_back(std::move(*p));
  }

  // The epilogue: f32 over the outputs, b, h, i, dv and captures.
  NodePtr epilogue =
      epilogueExpr ? epilogueExpr : var::out(0).node();
  if (const Expr::Node *e = findError(epilogue))
    return fail("epilogue: " + e->name);
  if (epilogue->type == ScalarType::Bool)
    return fail("the epilogue must be f32, not a boolean");
  epilogue = convert(epilogue, ScalarType::F32);
  std::set<std::string> vars;
  varsOf(epilogue, vars);
  for (const std::string &v : vars) {
    bool output = v.size() > 1 && v[0] == 'o' &&
                  std::all_of(v.begin() + 1, v.end(), [](char c) {
                    return std::isdigit(static_cast<unsigned char>(c));
                  });
    if (output && std::stoul(v.substr(1)) >= branches.size())
      return fail("the epilogue reads out(" + v.substr(1) + ") of " +
                  std::to_string(branches.size()) + " attention" +
                  (branches.size() == 1 ? "" : "s"));
    if (!output && v != "b" && v != "h" && v != "i" && v != "dv")
      return fail("the epilogue reads '" + v + "' (it sees b, h, i, dv, the "
                  "outputs and captures)");
  }
  std::vector<std::shared_ptr<const VariantCapture::Info>> epilogueCaptures;
  bool readsScore = false;
  collect(epilogue, epilogueCaptures, readsScore);
  std::map<std::string, std::string> captureArgs;
  for (auto &c : epilogueCaptures) {
    if (std::string why = addCapture(c); !why.empty())
      return fail(why);
    captureArgs[c->name] = "%c_" + c->name;
  }
  for (auto &c : captures) {
    if (!validName(c->name) || reservedProgramName(c->name))
      return fail("capture name '" + c->name + "' is taken");
    if (std::any_of(tensorArgs.begin(), tensorArgs.end(),
                    [&](const TensorArg &a) { return a.name == c->name; }))
      return fail("capture '" + c->name + "' has an argument's name");
  }

  const std::string &oT = prepared.front().oT;
  std::string element = oT.substr(oT.rfind('x') + 1);
  element.pop_back(); // '>'
  std::ostringstream os;
  os << "// Built by attn::ProgramBuilder.\n";
  os << "func.func @" << fnName << "(";
  for (size_t k = 0; k < tensorArgs.size(); ++k) {
    const TensorArg &a = tensorArgs[k];
    os << (k ? ",\n    " : "") << "%" << a.name << ": " << a.type;
    // The first attention's q, k and v define b, nq and nk; the other
    // tensors bind their batch and length to them.
    if (k < 3)
      continue;
    std::string dims = a.type.substr(7, a.type.rfind('x') - 7);
    std::vector<std::string> sizes;
    for (size_t at = 0; at != std::string::npos;) {
      size_t next = dims.find('x', at);
      sizes.push_back(dims.substr(at, next == std::string::npos
                                           ? std::string::npos
                                           : next - at));
      at = next == std::string::npos ? next : next + 1;
    }
    os << " {attn.dims = [";
    for (size_t d = 0; d < sizes.size(); ++d) {
      std::string size = sizes[d];
      if (size == "?")
        size = d == 0 ? "\"b\"" : a.overKeys ? "\"nk\"" : "\"nq\"";
      os << (d ? ", " : "") << size;
    }
    os << "]}";
  }
  printCaptureArguments(os, captures);
  os << ") -> " << oT << " {\n";
  for (size_t n = 0; n < branches.size(); ++n)
    branches[n].variant.printAttention(
        os, prepared[n], "%att" + std::to_string(n), "%" + branches[n].q,
        "%" + branches[n].k, "%" + branches[n].v);
  std::string terms, ins, inTypes, blockInputs;
  for (size_t n = 0; n < branches.size(); ++n) {
    terms += std::string(n ? "," : "") + "bhid";
    ins += (n ? ", %att" : "%att") + std::to_string(n);
    inTypes += (n ? ", " : "") + oT;
    // f32 outputs are the epilogue's o<n> as they are; f16/bf16 ones are
    // extended first.
    blockInputs += (element == "f32" ? ", %o" : ", %in") + std::to_string(n) +
                   ": " + element;
  }
  os << "  %o = attn.map \"" << terms << "->bhid\" ins(" << ins << " : "
     << inTypes << ")";
  std::string captureBlockArgs;
  if (!epilogueCaptures.empty()) {
    os << " captures(";
    for (size_t k = 0; k < epilogueCaptures.size(); ++k)
      os << (k ? ", " : "") << "%" << epilogueCaptures[k]->name;
    os << " : ";
    for (size_t k = 0; k < epilogueCaptures.size(); ++k) {
      const VariantCapture::Info &c = *epilogueCaptures[k];
      os << (k ? ", " : "") << captureType(c);
      captureBlockArgs += ", " + captureArgs[c.name] + ": " + captureType(c);
    }
    os << ")";
  }
  os << " -> " << oT << " {\n";
  os << "  ^bb0(%b: index, %h: index, %i: index, %dv: index" << blockInputs
     << captureBlockArgs << "):\n";
  for (size_t n = 0; n < branches.size() && element != "f32"; ++n)
    os << "        %o" << n << " = arith.extf %in" << n << " : " << element
       << " to f32\n";
  RegionPrinter printer(os, captureArgs);
  std::string r = printer.value(epilogue);
  if (element != "f32") {
    os << "        %o_out = arith.truncf " << r << " : f32 to " << element
       << "\n";
    r = "%o_out";
  }
  os << "        attn.yield " << r << " : " << element << "\n  }\n";
  os << "  return %o : " << oT << "\n}\n";
  return os.str();
}

//===----------------------------------------------------------------------===//
// Well-known modifications
//===----------------------------------------------------------------------===//

using namespace attn::var;

Expr mods::causal() { return j() <= i(); }
Expr mods::bottomRightCausal() { return j() + nq() <= i() + nk(); }
Expr mods::slidingWindow(int64_t w) {
  return j() <= i() && j() >= i() - Expr(static_cast<long long>(w));
}
Expr mods::sinkTokens(int64_t n) {
  return j() < Expr(static_cast<long long>(n));
}
Expr mods::prefixLm(const Expr &prefix) { return j() <= i() || j() < prefix; }
Expr mods::document(const VariantCapture &ids) {
  return ids(b(), i()) == ids(b(), j());
}
Expr mods::chunked(int64_t c) {
  Expr chunk(static_cast<long long>(c));
  return i() / chunk == j() / chunk;
}

namespace {
/// One axis of a neighborhood: the query at coordinate `qc` and the key at
/// `kc` along an axis of `len` positions (NATTEN's window, dilated and
/// clamped).
Expr neighborhoodAxis(const Expr &qc, const Expr &kc, const Expr &len,
                      int64_t kernel, int64_t dilation, bool causal) {
  Expr K(static_cast<long long>(kernel));
  Expr q = qc, k = kc, n = len, same(0);
  bool dilated = dilation > 1;
  if (dilated) {
    Expr D(static_cast<long long>(dilation));
    Expr r = qc % D;
    same = kc % D == r;
    q = qc / D;
    k = kc / D;
    // Positions with residue r: ceil((len - r) / D).
    n = (len - r + D - 1) / D;
  }
  Expr inWindow(0);
  if (causal) {
    inWindow = k <= q && k >= q - K + 1;
  } else {
    Expr start =
        max(min(q - Expr(static_cast<long long>(kernel / 2)), n - K), 0);
    inWindow = k >= start && k < start + K;
  }
  return dilated ? same && inWindow : inWindow;
}
} // namespace

Expr mods::neighborhood1d(int64_t kernel, int64_t dilation, bool causal) {
  return neighborhoodAxis(i(), j(), nk(), kernel, dilation, causal);
}

Expr mods::neighborhood2d(int64_t width, int64_t kernel, int64_t dilation,
                          bool causal) {
  Expr W(static_cast<long long>(width));
  Expr rows = nk() / W;
  return neighborhoodAxis(i() / W, j() / W, rows, kernel, dilation, causal) &&
         neighborhoodAxis(i() % W, j() % W, W, kernel, dilation, causal);
}

Expr mods::neighborhood3d(int64_t height, int64_t width, int64_t kernel,
                          int64_t dilation, bool causal) {
  Expr W(static_cast<long long>(width));
  Expr plane(static_cast<long long>(height * width));
  Expr H(static_cast<long long>(height));
  Expr depth = nk() / plane;
  Expr qi = i() % plane, kj = j() % plane;
  return neighborhoodAxis(i() / plane, j() / plane, depth, kernel, dilation,
                          causal) &&
         neighborhoodAxis(qi / W, kj / W, H, kernel, dilation, causal) &&
         neighborhoodAxis(qi % W, kj % W, W, kernel, dilation, causal);
}

Expr mods::blockDiffusion(int64_t block) {
  Expr B(static_cast<long long>(block));
  Expr half = nk() / 2;
  Expr qNoisy = i() < half, kNoisy = j() < half;
  Expr diagonal = qNoisy && kNoisy && i() / B == j() / B;
  Expr offsetCausal = qNoisy && !kNoisy && (j() - half) / B < i() / B;
  Expr blockCausal = !qNoisy && !kNoisy && (j() - half) / B <= (i() - half) / B;
  return diagonal || offsetCausal || blockCausal;
}

Expr mods::alibi(const VariantCapture &slopes) {
  return s() + slopes(h()) * toF32(j() - i());
}
Expr mods::softcap(double cap) { return Expr(cap) * tanh(s() / Expr(cap)); }
Expr mods::biasTable(const VariantCapture &table) {
  return s() + table(h(), i(), j());
}
Expr mods::relativePosition(const VariantCapture &table, int64_t maxDistance) {
  Expr m(static_cast<long long>(maxDistance));
  return s() + table(h(), clamp(j() - i(), -m, m) + m);
}
