//! The benchmark's chart: throughput and soft-confirmation latency over time, as SVG (plotters'
//! SVG backend; no font files needed, text is left to the viewer).

use plotters::prelude::*;

/// One line of a panel.
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend.
    pub label: String,
    /// (seconds, value) points.
    pub points: Vec<(f64, f64)>,
}

/// A panel: a title, a y-axis name and its lines, over a shared time axis.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title.
    pub title: String,
    /// Y-axis description.
    pub y_desc: String,
    /// Lines.
    pub lines: Vec<Line>,
}

const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
];

/// Draws the panels one above the other and returns the SVG document.
pub fn svg(panels: &[Panel]) -> Result<String, String> {
    let mut out = String::new();
    {
        let height = 320 * panels.len().max(1) as u32;
        let root = SVGBackend::with_string(&mut out, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (panel, area) in panels.iter().zip(areas) {
            let points = panel.lines.iter().flat_map(|l| l.points.iter());
            let x_max = points
                .clone()
                .map(|p| p.0)
                .fold(0.0, f64::max)
                .max(f64::EPSILON);
            let y_max = points.map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
            let mut chart = ChartBuilder::on(&area)
                .caption(&panel.title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..x_max, 0.0..y_max)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("seconds")
                .y_desc(panel.y_desc.as_str())
                .draw()
                .map_err(|e| e.to_string())?;
            for (i, line) in panel.lines.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                chart
                    .draw_series(LineSeries::new(
                        line.points.iter().copied(),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?
                    .label(line.label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_line_with_its_legend() {
        let svg = svg(&[
            Panel {
                title: "throughput".into(),
                y_desc: "tx/s".into(),
                lines: vec![
                    Line {
                        label: "loft".into(),
                        points: vec![(0.0, 1.0), (1.0, 3.0)],
                    },
                    Line {
                        label: "anvil".into(),
                        points: vec![(0.0, 0.5), (2.0, 0.7)],
                    },
                ],
            },
            Panel {
                title: "latency".into(),
                y_desc: "ms".into(),
                lines: vec![Line {
                    label: "p99".into(),
                    points: vec![],
                }],
            },
        ])
        .unwrap();
        assert!(svg.starts_with("<svg"));
        for text in ["throughput", "latency", "loft", "anvil", "p99", "seconds"] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert!(svg.matches("<polyline").count() >= 3);
    }
}
