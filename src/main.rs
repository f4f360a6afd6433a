fn main() {
    std::process::exit(vmauth::run());
}
