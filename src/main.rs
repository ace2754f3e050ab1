fn main() {
    println!("optimc");
}
