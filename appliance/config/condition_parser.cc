#include "appliance/config/condition_parser.h"

#include <cctype>

namespace tandem::appliance {
namespace {

using proxy::Condition;

struct Token {
  enum class Kind { Name, And, Or, Not, Open, Close, End };
  Kind kind;
  std::string text;
  size_t offset;
};

bool isNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
         c == ':';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) { advance(); }

  std::optional<Condition> parse(ConditionError* error) {
    auto c = expr();
    if (c && tok_.kind != Token::Kind::End) fail("unexpected '" + tok_.text + "'", tok_.offset);
    if (!error_.message.empty()) {
      if (error) *error = error_;
      return std::nullopt;
    }
    return c;
  }

 private:
  void fail(std::string msg, size_t offset) {
    if (error_.message.empty()) error_ = {std::move(msg), offset};
  }

  void advance() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    size_t start = pos_;
    if (pos_ >= text_.size()) {
      tok_ = {Token::Kind::End, "end of expression", start};
      return;
    }
    auto two = text_.substr(pos_, 2);
    if (two == "&&" || two == "||") {
      pos_ += 2;
      tok_ = {two == "&&" ? Token::Kind::And : Token::Kind::Or, std::string(two), start};
      return;
    }
    char c = text_[pos_];
    if (c == '!' || c == '(' || c == ')') {
      ++pos_;
      tok_ = {c == '!'   ? Token::Kind::Not
              : c == '(' ? Token::Kind::Open
                         : Token::Kind::Close,
              std::string(1, c), start};
      return;
    }
    if (!isNameChar(c)) {
      ++pos_;
      tok_ = {Token::Kind::Name, std::string(1, c), start};
      fail("unexpected character '" + std::string(1, c) + "'", start);
      return;
    }
    while (pos_ < text_.size() && isNameChar(text_[pos_])) ++pos_;
    std::string word(text_.substr(start, pos_ - start));
    Token::Kind kind = Token::Kind::Name;
    if (word == "and") kind = Token::Kind::And;
    if (word == "or") kind = Token::Kind::Or;
    if (word == "not") kind = Token::Kind::Not;
    tok_ = {kind, word, start};
  }

  std::optional<Condition> expr() {
    auto left = term();
    if (!left) return std::nullopt;
    if (tok_.kind != Token::Kind::Or) return left;
    Condition node{Condition::Op::Or, "", {std::move(*left)}};
    while (tok_.kind == Token::Kind::Or) {
      advance();
      auto right = term();
      if (!right) return std::nullopt;
      node.operands.push_back(std::move(*right));
    }
    return node;
  }

  bool startsFactor() const {
    return tok_.kind == Token::Kind::Name || tok_.kind == Token::Kind::Not ||
           tok_.kind == Token::Kind::Open;
  }

  std::optional<Condition> term() {
    auto left = factor();
    if (!left) return std::nullopt;
    if (tok_.kind != Token::Kind::And && !startsFactor()) return left;
    Condition node{Condition::Op::And, "", {std::move(*left)}};
    while (tok_.kind == Token::Kind::And || startsFactor()) {
      if (tok_.kind == Token::Kind::And) advance();
      auto right = factor();
      if (!right) return std::nullopt;
      node.operands.push_back(std::move(*right));
    }
    return node;
  }

  std::optional<Condition> factor() {
    switch (tok_.kind) {
      case Token::Kind::Not: {
        advance();
        auto inner = factor();
        if (!inner) return std::nullopt;
        return Condition{Condition::Op::Not, "", {std::move(*inner)}};
      }
      case Token::Kind::Open: {
        size_t open = tok_.offset;
        advance();
        auto inner = expr();
        if (!inner) return std::nullopt;
        if (tok_.kind != Token::Kind::Close) {
          fail("missing ')' for '(' at offset " + std::to_string(open), tok_.offset);
          return std::nullopt;
        }
        advance();
        return inner;
      }
      case Token::Kind::Name: {
        Condition leaf{Condition::Op::Acl, tok_.text, {}};
        advance();
        return leaf;
      }
      default:
        fail("expected an ACL name, 'not' or '(' but found '" + tok_.text + "'", tok_.offset);
        return std::nullopt;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token tok_{Token::Kind::End, "", 0};
  ConditionError error_;
};

}  // namespace

std::optional<proxy::Condition> parseCondition(std::string_view text, ConditionError* error) {
  return Parser(text).parse(error);
}

void collectAclNames(const proxy::Condition& c, std::vector<std::string>* out) {
  if (c.op == proxy::Condition::Op::Acl) {
    out->push_back(c.acl);
    return;
  }
  for (const auto& o : c.operands) collectAclNames(o, out);
}

}  // namespace tandem::appliance
