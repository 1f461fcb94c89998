//! The report's SVG plots, drawn with plotters' SVG backend into strings (no font files needed: SVG text is
//! laid out by the viewer).

use plotters::prelude::*;

use crate::Stats;

type Files = Vec<(String, String)>;

const BAR: RGBColor = RGBColor(0x4c, 0x78, 0xa8);
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x4c, 0x78, 0xa8),
    RGBColor(0xf5, 0x85, 0x18),
    RGBColor(0x54, 0xa2, 0x4b),
    RGBColor(0xe4, 0x57, 0x56),
    RGBColor(0x72, 0xb7, 0xb2),
    RGBColor(0xb2, 0x79, 0xa2),
];

fn err(name: &str) -> impl Fn(String) -> String + '_ {
    move |e| format!("plot {name}: {e}")
}

/// Horizontal bars, one per label (top to bottom in the given order).
fn bars(name: &str, caption: &str, x_desc: &str, items: &[(String, f64)]) -> Result<String, String> {
    let e = err(name);
    let mut svg = String::new();
    {
        let height = (80 + 22 * items.len()).max(200) as u32;
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let max = items.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0) * 1.05;
        let n = items.len() as i32;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(200)
            .build_cartesian_2d(0.0..max, 0..n.max(1))
            .map_err(|x| e(x.to_string()))?;
        let labels: Vec<String> = items.iter().map(|(l, _)| l.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(items.len().max(1))
            .y_label_formatter(&|i| {
                // row i from the top
                usize::try_from(n - 1 - *i).ok().and_then(|k| labels.get(k).cloned()).unwrap_or_default()
            })
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc(x_desc)
            .draw()
            .map_err(|x| e(x.to_string()))?;
        chart
            .draw_series(items.iter().enumerate().map(|(k, (_, v))| {
                let row = n - 1 - k as i32;
                let mut r = Rectangle::new([(0.0, row), (*v, row + 1)], BAR.filled());
                r.set_margin(3, 3, 0, 0);
                r
            }))
            .map_err(|x| e(x.to_string()))?;
        root.present().map_err(|x| e(x.to_string()))?;
    }
    Ok(svg)
}

/// Histograms of several series, one panel each, `buckets` equal-width bins over each series' range.
fn histograms(name: &str, caption: &str, series: &[(String, Vec<f64>)], x_desc: &str) -> Result<String, String> {
    let e = err(name);
    let mut svg = String::new();
    {
        let cols = series.len().clamp(1, 2);
        let rows = series.len().div_ceil(cols).max(1);
        let width = if cols == 1 { 800 } else { 1000 };
        let root = SVGBackend::with_string(&mut svg, (width, 60 + 300 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(x.to_string()))?;
        let root = root.titled(caption, ("sans-serif", 22)).map_err(|x| e(x.to_string()))?;
        let panels = root.split_evenly((rows, cols));
        for (k, ((label, values), panel)) in series.iter().zip(panels.iter()).enumerate() {
            let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let (lo, hi) = if lo.is_finite() { (lo, if hi > lo { hi } else { lo + 1.0 }) } else { (0.0, 1.0) };
            const BUCKETS: usize = 30;
            let width = (hi - lo) / BUCKETS as f64;
            let mut counts = [0u32; BUCKETS];
            for &v in values {
                let b = (((v - lo) / width) as usize).min(BUCKETS - 1);
                counts[b] += 1;
            }
            let top = counts.iter().copied().max().unwrap_or(1).max(1);
            let mut chart = ChartBuilder::on(panel)
                .caption(label, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(35)
                .y_label_area_size(50)
                .build_cartesian_2d(lo..hi, 0u32..top + top / 10 + 1)
                .map_err(|x| e(x.to_string()))?;
            let decimals = if hi - lo >= 20.0 { 0 } else { 1 };
            chart
                .configure_mesh()
                .x_label_formatter(&|v| format!("{v:.decimals$}"))
                .x_desc(x_desc)
                .y_desc("records")
                .draw()
                .map_err(|x| e(x.to_string()))?;
            let color = PALETTE[k % PALETTE.len()];
            chart
                .draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(b, c)| {
                    let x0 = lo + width * b as f64;
                    Rectangle::new([(x0, 0), (x0 + width, *c)], color.filled())
                }))
                .map_err(|x| e(x.to_string()))?;
        }
        root.present().map_err(|x| e(x.to_string()))?;
    }
    Ok(svg)
}

/// Every plot of the report, as (file name, SVG).
pub fn all(s: &Stats) -> Result<Files, String> {
    let mut files = Files::new();
    let cats: Vec<(String, f64)> =
        s.categories.iter().map(|(c, m)| (c.clone(), m.values().sum::<usize>() as f64)).collect();
    files.push(("categories.svg".into(), bars("categories", "Records per category", "records", &cats)?));
    let lines: Vec<(String, Vec<f64>)> =
        s.samples.lines.iter().map(|(c, v)| (format!("{c} (lines)"), v.clone())).collect();
    files.push(("lengths.svg".into(), histograms("lengths", "Lines per record", &lines, "lines")?));
    files.push((
        "expansion.svg".into(),
        histograms(
            "expansion",
            "Expansion ratio",
            &[("cuda_forward chars / @wp.kernel chars".into(), s.samples.expansion.clone())],
            "ratio",
        )?,
    ));
    let mut top: Vec<(String, f64)> =
        s.coverage.records_per_builtin.iter().map(|(b, n)| (b.clone(), *n as f64)).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(40);
    let caption =
        format!("Builtins: {} of {} in Warp's registry used (top 40 by records)", s.coverage.used, s.coverage.catalog);
    files.push(("builtins.svg".into(), bars("builtins", &caption, "records", &top)?));
    let constructs: Vec<(String, f64)> = s.constructs.iter().map(|(f, n)| (f.clone(), *n as f64)).collect();
    files.push((
        "constructs.svg".into(),
        bars("constructs", "Records using each construct and type", "records", &constructs)?,
    ));
    files.push((
        "gradient_error.svg".into(),
        histograms(
            "gradient_error",
            "Gradient check: largest relative error against finite differences",
            &[(
                "records whose gradient check passed (an error of 0 drawn at -12)".into(),
                s.samples.log_gradient_error.clone(),
            )],
            "log10(max relative error)",
        )?,
    ));
    Ok(files)
}
