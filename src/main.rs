use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = orglink_operator::cli::Cli::parse();
    orglink_operator::cli::main(cli)
}
