fn main() {
    stagecraft_codegen::generate();
}
