//===- attn-catalogue.cpp - the catalogue's variants as MLIR --------------===//
//
//   attn-catalogue --list             name, source and summary of each entry
//   attn-catalogue NAME [-o FILE]     the entry's MLIR (stdout by default)
//   attn-catalogue --all DIR          every entry into DIR/NAME.mlir
//
// The variants are built in C++ by attn::VariantBuilder
// (attn/VariantBuilder.h); the output goes to attn-opt, attn-run or
// Runtime::compileText.
//
//===----------------------------------------------------------------------===//

#include <attn/VariantBuilder.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace {

int usage() {
  std::fprintf(stderr, "usage: attn-catalogue --list\n"
                       "       attn-catalogue NAME [-o FILE]\n"
                       "       attn-catalogue --all DIR\n");
  return 2;
}

bool writeFile(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "attn-catalogue: cannot write '%s'\n", path.c_str());
    return false;
  }
  return true;
}

/// The entry's text, or an error printed and nothing.
bool textOf(const attn::CatalogueEntry &e, std::string &text) {
  attn::Expected<std::string> t = e.variant.toMlir();
  if (!t) {
    std::fprintf(stderr, "attn-catalogue: %s\n", t.message().c_str());
    return false;
  }
  text = "// " + e.name + ": " + e.summary + " (" + e.source + ").\n" + *t;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2)
    return usage();
  const auto &entries = attn::catalogue();
  std::string first = argv[1];
  if (first == "--list" && argc == 2) {
    for (const attn::CatalogueEntry &e : entries)
      std::printf("%s\t%s\t%s\n", e.name.c_str(), e.source.c_str(),
                  e.summary.c_str());
    return 0;
  }
  if (first == "--all" && argc == 3) {
    for (const attn::CatalogueEntry &e : entries) {
      std::string text;
      if (!textOf(e, text) ||
          !writeFile(std::string(argv[2]) + "/" + e.name + ".mlir", text))
        return 1;
    }
    return 0;
  }
  if (first.rfind("-", 0) == 0)
    return usage();
  std::string output;
  if (argc == 4 && std::strcmp(argv[2], "-o") == 0)
    output = argv[3];
  else if (argc != 2)
    return usage();
  for (const attn::CatalogueEntry &e : entries) {
    if (e.name != first)
      continue;
    std::string text;
    if (!textOf(e, text))
      return 1;
    if (output.empty()) {
      std::fputs(text.c_str(), stdout);
      return 0;
    }
    return writeFile(output, text) ? 0 : 1;
  }
  std::fprintf(stderr,
               "attn-catalogue: no entry '%s' (attn-catalogue --list lists "
               "them)\n",
               first.c_str());
  return 1;
}
