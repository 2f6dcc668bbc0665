//! Networks of small cells for the layered tree: positions from a [`Deployment`], node-to-node
//! links from the UMi street-canyon path loss ([`UmiStreetCanyon`]) with log-normal shadowing
//! (i.i.d. or spatially correlated, [`Shadowing`]), and the per-RE SNR of each link's sync signal
//! — the [`Topology`] the [`super::engine`] runs on.
//!
//! Per-RE SNR = P_tx/N_sc − loss − shadowing − (−174 dBm/Hz + 10·log10 Δf + NF): the sync signal's
//! power per subcarrier over the thermal noise of one 15 kHz subcarrier. A node keeps the
//! `max_audible` strongest transmitters within `max_range_m` whose SNR is at least
//! `min_snr_db` (notes/000 §4.5: per-node lists of audible transmitters, "power above noise − 10
//! dB"); the rest would add less than the weakest kept link each and are ignored — an
//! underestimate of far reuse interference that the experiments report.

use super::engine::{Audible, Topology};
use crate::channel::umi::UmiStreetCanyon;
use crate::geometry::deployment::Deployment;
use crate::geometry::index::SpatialIndex;
use crate::geometry::shadowing::Shadowing;
use crate::geometry::{Boundary, GeometryError, Point, Window};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::units::{db_to_lin, lin_to_db};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How a network is drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Node positions.
    pub deployment: Deployment,
    /// The area (m), centred on the origin.
    pub width_m: f64,
    pub height_m: f64,
    /// Open area or torus (no edge).
    pub boundary: Boundary,
    /// Node-to-node path loss (both ends are small cells: set `h_ut_m` to their height).
    pub path_loss: UmiStreetCanyon,
    /// Shadowing of every link.
    pub shadowing: Shadowing,
    /// Carrier (Hz).
    pub carrier_hz: f64,
    /// Total transmit power of a node's sync signal spread over `subcarriers` (dBm).
    pub tx_power_dbm: f64,
    /// Subcarriers the power is spread over (LTE 20 MHz: 1200).
    pub subcarriers: usize,
    /// Subcarrier spacing (Hz).
    pub subcarrier_spacing_hz: f64,
    /// Receiver noise figure (dB).
    pub noise_figure_db: f64,
    /// Links longer than this are not considered (m).
    pub max_range_m: f64,
    /// Links weaker than this per-RE SNR are dropped (dB).
    pub min_snr_db: f64,
    /// At most this many transmitters per node, the strongest.
    pub max_audible: usize,
}

impl NetworkSpec {
    /// Small cells on a Poisson process of `density_per_km2` over `width_m` × `height_m`:
    /// UMi NLOS between cells 10 m high, Gudmundson-correlated shadowing σ = 7.82 dB, d_c = 13 m
    /// (TR 38.901 UMi NLOS), 2.6 GHz, 24 dBm sync power over 1200 subcarriers, NF 7 dB,
    /// audible within 1.5 km down to −15 dB per RE, 32 strongest kept.
    pub fn small_cells(density_per_km2: f64, width_m: f64, height_m: f64) -> Self {
        NetworkSpec {
            deployment: Deployment::Poisson {
                density_per_m2: density_per_km2 * 1e-6,
            },
            width_m,
            height_m,
            boundary: Boundary::Open,
            path_loss: UmiStreetCanyon {
                h_bs_m: 10.0,
                h_ut_m: 10.0,
                condition: crate::channel::umi::UmiCondition::Nlos,
            },
            shadowing: Shadowing::Correlated {
                sigma_db: 7.82,
                decorrelation_m: 13.0,
                grid_spacing_m: None,
            },
            carrier_hz: 2.6e9,
            tx_power_dbm: 24.0,
            subcarriers: 1200,
            subcarrier_spacing_hz: 15e3,
            noise_figure_db: 7.0,
            max_range_m: 1500.0,
            min_snr_db: -15.0,
            max_audible: 32,
        }
    }

    /// Range checks, naming fields `<prefix>.<field>`.
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        let c = Check { prefix };
        let geo = |field: &str, e: GeometryError| {
            FieldError::new(format!("{prefix}.{field}"), e.to_string())
        };
        self.deployment
            .validate()
            .map_err(|e| geo("deployment", e))?;
        c.range("width_m", self.width_m, 1.0, 1e6, "m")?;
        c.range("height_m", self.height_m, 1.0, 1e6, "m")?;
        self.path_loss.validate().map_err(|e| geo("path_loss", e))?;
        self.shadowing.validate().map_err(|e| geo("shadowing", e))?;
        c.range("carrier_hz", self.carrier_hz, 5e8, 1e11, "Hz")?;
        c.range("tx_power_dbm", self.tx_power_dbm, -30.0, 60.0, "dBm")?;
        c.count("subcarriers", self.subcarriers, 1, 1 << 20)?;
        c.range(
            "subcarrier_spacing_hz",
            self.subcarrier_spacing_hz,
            1e3,
            1e7,
            "Hz",
        )?;
        c.range("noise_figure_db", self.noise_figure_db, 0.0, 30.0, "dB")?;
        c.range("max_range_m", self.max_range_m, 1.0, 1e5, "m")?;
        c.range("min_snr_db", self.min_snr_db, -60.0, 60.0, "dB")?;
        c.count("max_audible", self.max_audible, 1, 10_000)?;
        let window = self.window().map_err(|e| geo("width_m", e))?;
        self.deployment
            .validate_in(&window)
            .map_err(|e| geo("deployment", e))
    }

    /// The area.
    ///
    /// # Errors
    /// A degenerate window.
    pub fn window(&self) -> Result<Window, GeometryError> {
        Window::centered(self.width_m, self.height_m, self.boundary)
    }

    /// Per-RE SNR (dB) of a link with path loss + shadowing `loss_db`.
    pub fn snr_db(&self, loss_db: f64) -> f64 {
        let per_re_dbm = self.tx_power_dbm - lin_to_db(self.subcarriers as f64);
        let noise_dbm = -174.0 + lin_to_db(self.subcarrier_spacing_hz) + self.noise_figure_db;
        per_re_dbm - loss_db - noise_dbm
    }

    /// Draws the positions and the links (streams `positions`, `shadowing` under `seeds`).
    ///
    /// # Errors
    /// Invalid geometry or a shadowing field too large for the area.
    pub fn build(&self, seeds: &SeedTree) -> Result<Network, GeometryError> {
        let window = self.window()?;
        let points = self
            .deployment
            .generate(&window, &mut seeds.child("positions").rng());
        self.build_on(points, seeds)
    }

    /// The links of given positions (stream `shadowing` under `seeds`).
    ///
    /// # Errors
    /// As [`NetworkSpec::build`].
    pub fn build_on(&self, points: Vec<Point>, seeds: &SeedTree) -> Result<Network, GeometryError> {
        let window = self.window()?;
        let shadow =
            self.shadowing
                .realize(&points, &window, &mut seeds.child("shadowing").rng())?;
        let index = SpatialIndex::new(&points, &window);
        let lists = index.neighbour_lists(self.max_range_m);
        let audible: Vec<Vec<Audible>> = (0..points.len())
            .into_par_iter()
            .map(|n| {
                let mut v: Vec<Audible> = lists
                    .of(n)
                    .iter()
                    .filter_map(|&m| {
                        let d = window.distance(points[n], points[m as usize]);
                        let loss = self.path_loss.loss_db(d, self.carrier_hz)
                            + shadow.link_shadowing_db(n, m as usize);
                        let snr_db = self.snr_db(loss);
                        (snr_db >= self.min_snr_db).then(|| Audible {
                            from: m,
                            snr: db_to_lin(snr_db),
                        })
                    })
                    .collect();
                v.sort_by(|a, b| b.snr.total_cmp(&a.snr).then(a.from.cmp(&b.from)));
                v.truncate(self.max_audible);
                v
            })
            .collect();
        Ok(Network {
            points,
            window,
            topology: Topology { audible },
        })
    }
}

/// A drawn network.
#[derive(Clone, Debug)]
pub struct Network {
    pub points: Vec<Point>,
    pub window: Window,
    pub topology: Topology,
}

impl Network {
    /// The node nearest the window's centre (the default root).
    pub fn central_node(&self) -> Option<usize> {
        let c = self.window.center();
        (0..self.points.len()).min_by(|&a, &b| {
            self.window
                .distance(self.points[a], c)
                .total_cmp(&self.window.distance(self.points[b], c))
                .then(a.cmp(&b))
        })
    }

    /// Hop depth of every node from `root` on the relation "hears with SNR ≥ `min_snr_db`"
    /// (None: unreachable) — what the layers would be if every node had one parent. The
    /// protocol's layers use the composite of a whole layer instead (see `chorus.layers`).
    pub fn hop_depths(&self, root: usize, min_snr_db: f64) -> Vec<Option<u32>> {
        let min = db_to_lin(min_snr_db);
        let n = self.points.len();
        let mut depth = vec![None; n];
        depth[root] = Some(0);
        let mut frontier = vec![root];
        let mut d = 0;
        while !frontier.is_empty() {
            d += 1;
            let mut next = Vec::new();
            for (i, list) in self.topology.audible.iter().enumerate() {
                if depth[i].is_none()
                    && list
                        .iter()
                        .any(|a| a.snr >= min && depth[a.from as usize] == Some(d - 1))
                {
                    next.push(i);
                }
            }
            for &i in &next {
                depth[i] = Some(d);
            }
            frontier = next;
        }
        depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snr_budget() {
        let s = NetworkSpec::small_cells(100.0, 1000.0, 1000.0);
        // 24 dBm − 30.8 dB = −6.8 dBm per RE; noise −174 + 41.8 + 7 = −125.2 dBm
        assert!((s.snr_db(118.4) - 0.0).abs() < 0.05, "{}", s.snr_db(118.4));
    }

    #[test]
    fn links_are_sorted_capped_and_above_the_floor() {
        let s = NetworkSpec {
            max_audible: 8,
            ..NetworkSpec::small_cells(200.0, 2000.0, 2000.0)
        };
        let net = s.build(&SeedTree::new(1)).unwrap();
        assert!(net.points.len() > 600);
        let floor = db_to_lin(s.min_snr_db);
        for (i, list) in net.topology.audible.iter().enumerate() {
            assert!(list.len() <= 8);
            assert!(list.windows(2).all(|w| w[0].snr >= w[1].snr));
            assert!(list.iter().all(|a| a.snr >= floor && a.from as usize != i));
        }
        // deterministic
        let again = s.build(&SeedTree::new(1)).unwrap();
        assert_eq!(net.topology, again.topology);
    }
}
