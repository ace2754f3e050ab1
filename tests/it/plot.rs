//! `optimc plot` and `optimc::plot`: the SVG is well-formed XML with one curve per group (and
//! one per cycled group on the momentum panel), milestones are dashed vertical lines, the PNG
//! has the size asked for, and bad requests fail with exit code 2.

use crate::common::{optimc_in, root, scratch};
use optimc::plot::{self, PlotError, PlotOptions};
use optimc::Config;
use std::process::Output;

/// Runs `optimc` from the project root.
fn optimc(args: &[&str]) -> Output {
    optimc_in(root(), args)
}

/// Runs `optimc plot FILE --epochs N -o DIR/out.svg` and returns the SVG text.
fn plot_svg(name: &str, file: &str, epochs: &str, extra: &[&str]) -> String {
    let dir = scratch(&format!("plot-{name}"));
    let out_path = dir.join("out.svg");
    let mut args = vec![
        "plot",
        file,
        "--epochs",
        epochs,
        "-o",
        out_path.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = optimc(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&out_path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    svg
}

/// A curve: a `<polyline>` drawn 2 pixels wide (milestones and axes are 1 pixel wide).
struct Curve {
    stroke: String,
    points: Vec<(f64, f64)>,
}

fn curves(doc: &roxmltree::Document) -> Vec<Curve> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
        .map(|n| Curve {
            stroke: n.attribute("stroke").unwrap().to_string(),
            points: parse_points(n.attribute("points").unwrap()),
        })
        .collect()
}

fn parse_points(points: &str) -> Vec<(f64, f64)> {
    points
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

#[test]
fn svg_parses_and_has_one_curve_per_group() {
    let svg = plot_svg(
        "groups",
        "examples/discriminative_finetune.optim",
        "100",
        &[],
    );
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let curves = curves(&doc);
    assert_eq!(curves.len(), 5, "one curve per group");
    let mut colours: Vec<&str> = curves.iter().map(|c| c.stroke.as_str()).collect();
    colours.sort_unstable();
    colours.dedup();
    assert_eq!(colours.len(), 5, "each group has its own colour");
    let texts = texts(&doc);
    assert!(texts.contains(&"discriminative_finetune.optim — adam".to_string()));
    for group in ["head", "layer3", "layer2", "layer1", "embed"] {
        assert!(texts.iter().any(|t| t == group), "legend entry {group}");
    }
    assert!(texts.iter().any(|t| t == "lr (log scale)"));
    assert!(!texts.iter().any(|t| t.contains("momentum")));
}

#[test]
fn momentum_gets_a_second_panel_only_when_cycled() {
    let svg = plot_svg("momentum", "examples/one_cycle.optim", "1000", &[]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let curves = curves(&doc);
    assert_eq!(curves.len(), 2, "the lr curve, then the momentum curve");
    assert_eq!(
        curves[0].stroke, curves[1].stroke,
        "the same group's colour"
    );
    let lowest_lr = curves[0].points.iter().map(|p| p.1).fold(0.0, f64::max);
    let highest_momentum = curves[1]
        .points
        .iter()
        .map(|p| p.1)
        .fold(f64::MAX, f64::min);
    assert!(
        highest_momentum > lowest_lr,
        "the momentum panel is below the lr panel"
    );
    assert!(texts(&doc).iter().any(|t| t == "momentum (scheduled)"));

    // Without cycling (sgd with fixed momentum), no momentum panel.
    let svg = plot_svg("no-momentum", "examples/finetune.optim", "60", &[]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(curves_len(&doc), 2, "base and classifier");
    assert!(!texts(&doc).iter().any(|t| t.contains("momentum")));
}

fn curves_len(doc: &roxmltree::Document) -> usize {
    curves(doc).len()
}

#[test]
fn milestones_are_dashed_vertical_lines() {
    // sequence(linear for 5 epochs, multistep at 30 and 80 of its own epochs): 5, 35, 85.
    let svg = plot_svg(
        "milestones",
        "examples/seed_warmup_multistep.optim",
        "100",
        &[],
    );
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let dashes: Vec<Vec<(f64, f64)>> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some("#787878"))
        .map(|n| parse_points(n.attribute("points").unwrap()))
        .collect();
    assert!(dashes.len() > 3, "each line is drawn in dashes");
    assert!(dashes.iter().all(|d| d.iter().all(|p| p.0 == d[0].0)));
    let mut xs: Vec<f64> = dashes.iter().map(|d| d[0].0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    assert_eq!(xs.len(), 3);
    let ratio = (xs[1] - xs[0]) / (xs[2] - xs[0]);
    assert!((ratio - 30.0 / 80.0).abs() < 0.02, "{xs:?}");
    assert!(texts(&doc)
        .iter()
        .any(|t| t == "epoch (dashed: milestones)"));
}

#[test]
fn png_has_the_signature_and_the_size_asked_for() {
    let dir = scratch("plot-png");
    let path = dir.join("lr.png");
    let out = optimc(&[
        "plot",
        "examples/one_cycle.optim",
        "--epochs",
        "500",
        "-o",
        path.to_str().unwrap(),
        "--size",
        "640x400",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (640, 400));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plateau_plots_with_its_metrics() {
    let svg = plot_svg(
        "plateau",
        "examples/plateau_val_loss.optim",
        "40",
        &["--metrics", "examples/val_loss.txt"],
    );
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let config = Config::from_path("examples/plateau_val_loss.optim").unwrap();
    assert_eq!(curves_len(&doc), config.groups.len());
}

#[test]
fn an_existing_plot_is_replaced_and_no_temporary_file_is_left() {
    let dir = scratch("plot-replace");
    let path = dir.join("lr.svg");
    std::fs::write(&path, "old").unwrap();
    let out = optimc(&[
        "plot",
        "examples/finetune.optim",
        "--epochs",
        "40",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("<svg"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["lr.svg"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_requests_exit_2_with_a_clear_message() {
    let cases: &[&[&str]] = &[
        &["examples/finetune.optim", "--epochs", "10", "-o", "lr.jpg"],
        &["examples/finetune.optim", "--epochs", "10", "-o", "lr"],
        &[
            "examples/finetune.optim",
            "--epochs",
            "10",
            "-o",
            "/nonexistent-optimc-dir/lr.svg",
        ],
        &["examples/finetune.optim", "--epochs", "0", "-o", "lr.svg"],
        &[
            "examples/finetune.optim",
            "--epochs",
            "10",
            "-o",
            "lr.svg",
            "--size",
            "100x100",
        ],
        &[
            "examples/finetune.optim",
            "--epochs",
            "10",
            "-o",
            "lr.svg",
            "--size",
            "wide",
        ],
        &[
            "examples/plateau_val_loss.optim",
            "--epochs",
            "10",
            "-o",
            "lr.svg",
        ],
        &[
            "examples/one_cycle.optim",
            "--epochs",
            "2000",
            "-o",
            "lr.svg",
        ],
    ];
    let mut report = String::new();
    for args in cases {
        let mut full = vec!["plot"];
        full.extend(*args);
        let out = optimc(&full);
        report.push_str(&format!(
            "$ optimc {}\nexit {:?}\n{}\n",
            full.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
        assert_eq!(out.status.code(), Some(2), "{report}");
        assert!(out.stdout.is_empty());
    }
    for name in ["lr.svg", "lr.jpg", "lr"] {
        assert!(!root().join(name).exists(), "nothing is written on failure");
    }
    insta::assert_snapshot!(report);

    let invalid = optimc(&[
        "plot",
        "tests/fixtures/invalid/undefined_name.optim",
        "--epochs",
        "10",
        "-o",
        "lr.svg",
    ]);
    assert_eq!(invalid.status.code(), Some(1), "an invalid file is exit 1");
}

fn config(source: &str) -> Config {
    Config::from_source("test.optim", source).unwrap()
}

#[test]
fn library_renders_svg_and_png() {
    let config = config(
        "optimizer = adam(lr = 1e-3)\n\
         group a { params = \"a.*\" }\n\
         group b { params = \"b.*\", lr = 1e-4 }\n\
         schedule = step(step_size = 10, gamma = 0.5)",
    );
    let options = PlotOptions::new(50).title("lib.optim");
    let svg = plot::render_svg(&config, &options).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(curves_len(&doc), 2);
    assert!(texts(&doc).contains(&"lib.optim — adam".to_string()));
    let png = plot::render_png(&config, &options.clone().size(300, 200)).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    assert_eq!(
        plot::milestones(&config, 50).epochs,
        [10.0, 20.0, 30.0, 40.0]
    );

    // One epoch is a flat line; zero epochs and silly sizes are refused.
    let one = plot::render_svg(&config, &PlotOptions::new(1)).unwrap();
    assert_eq!(curves_len(&roxmltree::Document::parse(&one).unwrap()), 2);
    assert!(matches!(
        plot::render_svg(&config, &PlotOptions::new(0)),
        Err(PlotError::NoEpochs)
    ));
    assert!(matches!(
        plot::render_png(&config, &PlotOptions::new(5).size(10, 10_000)),
        Err(PlotError::Size { .. })
    ));
}

#[test]
fn an_lr_of_zero_is_drawn_at_a_floor_and_said_so() {
    let config = config("optimizer = sgd(lr = 0.1)\nschedule = cosine(t_max = 10, eta_min = 0)");
    let svg = plot::render_svg(&config, &PlotOptions::new(11)).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts = texts(&doc);
    let axis = texts
        .iter()
        .find(|t| t.starts_with("lr ("))
        .expect("the lr axis title");
    assert!(axis.starts_with("lr (log scale; 0 drawn at "), "{axis}");
    assert_eq!(curves_len(&doc), 1);
}

#[test]
fn a_negative_lr_switches_to_a_linear_axis() {
    let config = config("optimizer = sgd(lr = 0.1)\nschedule = lambda(epoch -> 1 - epoch / 5)");
    let svg = plot::render_svg(&config, &PlotOptions::new(10)).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(texts(&doc)
        .iter()
        .any(|t| t == "lr (linear scale: some lrs are negative)"));
}

#[test]
fn a_long_trace_is_reduced_to_the_width_of_the_plot() {
    let config =
        config("optimizer = sgd(lr = 0.1)\nschedule = cosine_restarts(t_0 = 1000, eta_min = 1e-4)");
    let svg = plot::render_svg(&config, &PlotOptions::new(200_000).size(500, 300)).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let curves = curves(&doc);
    assert_eq!(curves.len(), 1);
    assert!(
        curves[0].points.len() <= 4 * 2 * 500 + 2,
        "{}",
        curves[0].points.len()
    );
    // 199 restarts are too many lines to draw: the axis title says so instead.
    assert!(texts(&doc)
        .iter()
        .any(|t| t == "epoch (more than 64 milestones: not drawn)"));
}

#[test]
fn an_lr_decayed_past_the_smallest_float_still_plots() {
    // 0.1 × 0.1^e underflows to subnormals and then to 0 after ~320 epochs.
    let config = config("optimizer = sgd(lr = 0.1)\nschedule = exponential(gamma = 0.1)");
    let svg = plot::render_svg(&config, &PlotOptions::new(400)).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(curves_len(&doc), 1);
    assert!(texts(&doc)
        .iter()
        .any(|t| t.starts_with("lr (log scale; 0 drawn at ")));
}
