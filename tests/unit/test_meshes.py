"""Meshes through meshio: reading with units, tetrahedral and surface voxelisation, fields back onto meshes."""

import importlib.util
from pathlib import Path

import meshio
import numpy as np
import pytest
from scipy.spatial import ConvexHull, Delaunay

from phototherm.errors import InputError
from phototherm.grid import Grid
from phototherm.io.meshes import (
    MeshWarning,
    labels_from_surfaces,
    labels_from_tetra_mesh,
    mask_from_surface,
    read_mesh,
    sample_field,
    write_fields_to_mesh,
)

MESHES = Path(__file__).resolve().parents[2] / "meshes"
STL = MESHES / "tumour_ellipsoid.stl"
VTU = MESHES / "flank_block.vtu"
MM = 1e-3


def load_generator():
    spec = importlib.util.spec_from_file_location("make_meshes", MESHES / "make_meshes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = load_generator()


def kuhn_block(xs, ys, zs):
    """Conforming tetrahedral mesh of a rectilinear block (the generator's subdivision)."""
    return GEN.block_tetrahedra(np.asarray(xs, float), np.asarray(ys, float), np.asarray(zs, float))


def cube_surface(lo, hi, quads=False):
    """Closed axis-aligned box surface [m]: 6 quads or 12 triangles."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    points = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)], float)
    faces = np.array([[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]])
    if quads:
        return meshio.Mesh(points, [("quad", faces)])
    return meshio.Mesh(points, [("triangle", np.concatenate([faces[:, [0, 1, 2]], faces[:, [0, 2, 3]]]))])


def sphere_surface(radius, centre, n=16):
    points, triangles = GEN.ellipsoid_surface((radius,) * 3, centre, n, 2 * n)
    return meshio.Mesh(points, [("triangle", triangles)])


def convex_inside(points, triangles, query, margin):
    """Exact inside test for a convex polyhedron; None where a point is within margin of a face plane."""
    hull = ConvexHull(points)
    inside, outside = np.empty(len(query), bool), np.empty(len(query), bool)
    for start in range(0, len(query), 2048):
        d = query[start : start + 2048] @ hull.equations[:, :3].T + hull.equations[:, 3]
        inside[start : start + 2048] = np.all(d < -margin, axis=1)
        outside[start : start + 2048] = np.any(d > margin, axis=1)
    return inside, outside


# -- read_mesh -------------------------------------------------------------------
@pytest.mark.parametrize("units, scale", [("mm", 1e-3), ("m", 1.0), ("cm", 1e-2), ("um", 1e-6)])
def test_read_mesh_converts_points_to_metres(units, scale):
    raw = meshio.read(STL)
    mesh = read_mesh(STL, units=units)
    np.testing.assert_allclose(mesh.points, raw.points.astype(float) * scale, rtol=1e-15)
    assert mesh.points.dtype == np.float64
    assert [b.type for b in mesh.cells] == ["triangle"]


def test_read_mesh_default_is_millimetres_and_keeps_cell_data():
    mesh = read_mesh(VTU)
    assert mesh.points.max(axis=0) == pytest.approx([20e-3, 20e-3, 12e-3])
    np.testing.assert_array_equal(mesh.cell_data["tag"][0], meshio.read(VTU).cell_data["tag"][0])


def test_read_mesh_of_mesh_object_copies():
    raw = meshio.read(STL)
    before = raw.points.copy()
    mesh = read_mesh(raw, units="mm")
    mesh.points[:] = 0.0
    np.testing.assert_array_equal(raw.points, before)


def test_read_mesh_missing_file_names_path(tmp_path):
    missing = tmp_path / "nowhere" / "tumour.stl"
    with pytest.raises(InputError, match="nowhere/tumour.stl"):
        read_mesh(missing)


def test_read_mesh_reports_unknown_units_and_missing_file_together(tmp_path):
    with pytest.raises(InputError) as info:
        read_mesh(tmp_path / "a.stl", units="inch")
    paths = [p.path for p in info.value.problems]
    assert paths == ["units", "path"]
    assert "'mm'" in str(info.value)


@pytest.mark.parametrize("name, content", [("garbage.stl", b"\x00\x01 not an stl"), ("data.xyz", b"1 2 3\n"),
                                           ("broken.vtu", b"<VTKFile type='Unstructured")])
def test_read_mesh_unreadable_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match="a mesh file meshio can read") as info:
        read_mesh(path)
    assert str(path) in str(info.value)


def test_vtk_surfaces_meshio_cannot_read_come_through_pyvista(tmp_path):
    pyvista = pytest.importorskip("pyvista")
    sphere = pyvista.Sphere(radius=3.0, center=(5.0, 5.0, 5.0), theta_resolution=24, phi_resolution=24)
    grid = Grid((40, 40, 40), 0.25e-3)
    reference = mask_from_surface(meshio.Mesh(sphere.points * MM, [("triangle", sphere.regular_faces)]), grid)
    for name in ("sphere.vtk", "sphere.vtp"):  # legacy POLYDATA and XML PolyData
        sphere.save(tmp_path / name)
        mesh = read_mesh(tmp_path / name, units="mm")
        np.testing.assert_array_equal(mask_from_surface(mesh, grid), reference)
    assert reference.sum() > 1000


def test_read_mesh_without_tetrahedra_or_triangles():
    lines = meshio.Mesh(np.zeros((2, 3)), [("line", np.array([[0, 1]]))])
    with pytest.raises(InputError, match="tetrahedra"):
        read_mesh(lines)


def test_read_mesh_rejects_bad_points_and_indices():
    mesh = meshio.Mesh(np.array([[0, 0, 0], [1, 0, 0], [np.nan, 1, 0]], float), [("triangle", np.array([[0, 1, 3]]))])
    with pytest.raises(InputError) as info:
        read_mesh(mesh)
    text = str(info.value)
    assert "non-finite" in text and "out of range" in text


# -- labels_from_tetra_mesh ------------------------------------------------------
def delaunay_ball(seed=0):
    """Tetrahedral ball from scipy's Delaunay of scattered points, tagged 7 (core) and 3 (shell)."""
    rng = np.random.default_rng(seed)
    surface = sphere_surface(4e-3, (0, 0, 0), n=10).points
    inner = rng.normal(size=(150, 3))
    inner = 3.5e-3 * inner / np.linalg.norm(inner, axis=1, keepdims=True) * rng.random((150, 1)) ** (1 / 3)
    points = np.vstack([surface, inner]) + [6e-3, 5e-3, 4e-3]
    tri = Delaunay(points)
    centroid = points[tri.simplices].mean(axis=1)
    tags = np.where(np.linalg.norm(centroid - [6e-3, 5e-3, 4e-3], axis=1) < 2e-3, 7, 3)
    mesh = meshio.Mesh(points, [("tetra", tri.simplices)], cell_data={"gmsh:physical": [tags]})
    return mesh, tri, tags


def test_tetra_labels_match_scipy_point_location():
    mesh, tri, tags = delaunay_ball()
    # Off-grid origin and anisotropic spacing: no voxel centre lies on a face.
    grid = Grid((47, 41, 38), (0.27e-3, 0.29e-3, 0.31e-3), origin=(0.013e-3, -0.4e-3, -0.77e-3))
    labels = labels_from_tetra_mesh(mesh, grid, background=-5)
    centres = np.stack([a.ravel() for a in grid.mesh()], axis=1)
    simplex = tri.find_simplex(centres)
    expected = np.where(simplex >= 0, tags[simplex], -5).reshape(grid.shape)
    assert labels.dtype == np.int32
    assert set(np.unique(labels)) == {-5, 3, 7}
    np.testing.assert_array_equal(labels, expected)


def test_tetra_labels_of_flank_block_file():
    # 0.5 mm voxels, centres at 0.25, 0.75, ... mm: none on the mesh's planes (0.4, 0.9, ... mm).
    grid = Grid((40, 40, 24), 0.5e-3)
    labels = labels_from_tetra_mesh(VTU, grid, units="mm")  # tag array "tag" found by default
    z = grid.centres("z")
    assert np.all(labels[:, :, z < 0.4e-3] == 1)
    assert np.all(labels[:, :, (z > 0.4e-3) & (z < 0.9e-3)] != 3)  # fat or tumour
    # Brute force: the voxel's hexahedron of the rectilinear mesh, then its 6 tetrahedra.
    raw = meshio.read(VTU)
    xs, ys, zs = GEN.block_planes()
    points, tets, tags = raw.points, raw.cells[0].data, raw.cell_data["tag"][0]
    hexes = (len(xs) - 1, len(ys) - 1, len(zs) - 1)
    X, Y, Z = (a.ravel() for a in grid.mesh())
    hx = np.searchsorted(xs, X * 1e3) - 1
    hy = np.searchsorted(ys, Y * 1e3) - 1
    hz = np.searchsorted(zs, Z * 1e3) - 1
    hex_id = (hx * hexes[1] + hy) * hexes[2] + hz
    n_hex = np.prod(hexes)
    # Voxel centres lie on the hexahedra's diagonal planes (x = y, ...), so a centre can touch
    # several tetrahedra; the label must be the tag of one of them.
    candidate = np.zeros((len(X), 5), dtype=bool)
    query = np.stack([X, Y, Z], axis=1) * 1e3
    for s in range(6):  # tetrahedron s * n_hex + h belongs to hexahedron h
        t = tets[s * n_hex + hex_id]
        a, b, c, d = (points[t[:, n]] for n in range(4))
        T = np.stack([b - a, c - a, d - a], axis=2)
        lam = np.linalg.solve(T, (query - a)[:, :, None])[:, :, 0]
        touching = np.all(lam > -1e-9, axis=1) & (lam.sum(axis=1) < 1 + 1e-9)  # rounding of mm coordinates
        candidate[np.flatnonzero(touching), tags[s * n_hex + hex_id[touching]]] = True
    assert np.all(candidate.any(axis=1))
    assert np.all(candidate[np.arange(len(X)), labels.ravel()])
    unique = candidate.sum(axis=1) == 1
    assert unique.sum() > len(X) // 2
    assert np.count_nonzero(labels == 4) > 1000


def test_tetra_labels_with_vertices_on_voxel_centres_lose_nothing():
    # Voxel centres at integer millimetres; the block's vertices and faces pass through them.
    xs = ys = zs = np.arange(5.0) * 1e-3
    points, tets = kuhn_block(xs, ys, zs)
    tags = np.where(points[tets].mean(axis=1)[:, 0] < 2e-3, 1, 2)
    mesh = meshio.Mesh(points, [("tetra", tets)], cell_data={"tag": [tags]})
    grid = Grid((7, 7, 7), 1e-3, origin=(-1.5e-3,) * 3)
    labels = labels_from_tetra_mesh(mesh, grid)
    X, Y, Z = (np.rint(a * 1e3).astype(int) for a in grid.mesh())  # centres at whole millimetres
    strictly_in = (X > 0) & (X < 4) & (Y > 0) & (Y < 4) & (Z > 0) & (Z < 4)
    strictly_out = (X < 0) | (X > 4) | (Y < 0) | (Y > 4) | (Z < 0) | (Z > 4)
    assert np.all(labels[strictly_in & (X < 2)] == 1)
    assert np.all(labels[strictly_in & (X > 2)] == 2)
    assert np.all(labels[strictly_in & (X == 2)] > 0)  # on the shared interface: one side, never lost
    assert np.all(labels[strictly_out] == -1)
    # Centres on the outer boundary go to one side consistently: per axis, 3 interior centres
    # plus none, one or both of the two boundary ones.
    counts = {a * b * c for a in (3, 4, 5) for b in (3, 4, 5) for c in (3, 4, 5)}
    assert np.count_nonzero(labels != -1) in counts


def test_tetra_labels_with_random_tags_and_all_ties_are_consistent():
    # Every voxel centre lies on mesh planes (vertices, edges, faces of the Kuhn tetrahedra) and
    # neighbouring tetrahedra carry random tags: each centre must get the tag of a tetrahedron it
    # touches, and the union of the regions must be the single-region voxelisation.
    rng = np.random.default_rng(7)
    xs = np.arange(5.0) * 1e-3
    points, tets = kuhn_block(xs, xs, xs)
    tags = rng.integers(1, 4, len(tets))
    grid = Grid((14, 14, 14), 0.5e-3, origin=(-1.25e-3,) * 3)  # centres at multiples of 0.5 mm
    labels = labels_from_tetra_mesh(meshio.Mesh(points, [("tetra", tets)], cell_data={"tag": [tags]}), grid)
    single = meshio.Mesh(points, [("tetra", tets)], cell_data={"tag": [np.ones(len(tets))]})
    union = labels_from_tetra_mesh(single, grid)
    np.testing.assert_array_equal(labels != -1, union == 1)
    q = np.stack([a.ravel() for a in grid.mesh()], axis=1)
    a, b, c, d = (points[tets[:, n]] for n in range(4))
    inverse = np.linalg.inv(np.stack([b - a, c - a, d - a], axis=2))
    lam = np.einsum("tij,ptj->pti", inverse, q[:, None, :] - a[None])
    touching = np.all(lam > -1e-9, axis=2) & (lam.sum(axis=2) < 1 + 1e-9)
    candidate = np.zeros((len(q), 4), dtype=bool)
    point, tet = np.nonzero(touching)
    candidate[point, tags[tet]] = True
    millimetres = np.rint(q * 1e3 * 2) / 2
    on_or_outside = np.any((millimetres <= 0) | (millimetres >= 4), axis=1)
    candidate[on_or_outside, 0] = True  # the block's own boundary may go either way
    flat = labels.ravel()
    assert np.all(candidate[np.arange(len(q)), np.where(flat == -1, 0, flat)])
    assert np.count_nonzero(flat > 0) >= 7**3  # every centre strictly inside is labelled


def test_tetra_labels_tag_array_choice_and_errors():
    points, tets = kuhn_block([0, 1e-3], [0, 1e-3], [0, 1e-3])
    grid = Grid((4, 4, 4), 0.5e-3, origin=(-0.5e-3,) * 3)
    both = meshio.Mesh(points, [("tetra", tets)], cell_data={"medit:ref": [np.full(6, 5)], "region": [np.full(6, 9)]})
    assert set(np.unique(labels_from_tetra_mesh(both, grid))) == {-1, 5}
    assert set(np.unique(labels_from_tetra_mesh(both, grid, tag="region", background=0))) == {0, 9}

    untagged = meshio.Mesh(points, [("tetra", tets)], cell_data={"quality": [np.ones(6)]})
    with pytest.raises(InputError, match="quality") as info:
        labels_from_tetra_mesh(untagged, grid)
    assert "gmsh:physical" in str(info.value)
    with pytest.raises(InputError, match="tag = 'absent'"):
        labels_from_tetra_mesh(both, grid, tag="absent")
    fractional = meshio.Mesh(points, [("tetra", tets)], cell_data={"tag": [np.full(6, 1.5)]})
    with pytest.raises(InputError, match="integer tags"):
        labels_from_tetra_mesh(fractional, grid)
    with pytest.raises(InputError, match="different from every tag"):
        labels_from_tetra_mesh(both, grid, background=5)
    with pytest.raises(InputError, match="tetrahedra"):
        labels_from_tetra_mesh(cube_surface((0, 0, 0), (1e-3,) * 3), grid)


def test_tetra_labels_float_tags_and_tetra10_corners():
    points, tets = kuhn_block([0, 1e-3], [0, 1e-3], [0, 1e-3])
    grid = Grid((4, 4, 4), 0.5e-3, origin=(-0.5e-3,) * 3)
    mids = np.arange(6 * 6).reshape(6, 6) % len(points)  # midside nodes are ignored
    mesh = meshio.Mesh(points, [("tetra10", np.hstack([tets, mids]))], cell_data={"tag": [np.full(6, 2.0)]})
    labels = labels_from_tetra_mesh(mesh, grid)
    assert np.count_nonzero(labels == 2) == 8


def test_mesh_in_millimetres_passed_as_object_warns():
    raw = meshio.read(VTU)  # points still in mm
    with pytest.warns(MeshWarning, match="metres"):
        labels_from_tetra_mesh(raw, Grid((4, 4, 4), 1e-3), tag="tag")


# -- mask_from_surface -----------------------------------------------------------
def test_surface_mask_matches_exact_convex_test():
    mesh = read_mesh(STL)
    grid = Grid((33, 35, 23), (0.28e-3, 0.27e-3, 0.3e-3), origin=(5.1e-3, 5.2e-3, -0.1e-3))
    mask = mask_from_surface(mesh, grid)
    centres = np.stack([a.ravel() for a in grid.mesh()], axis=1)
    inside, outside = convex_inside(mesh.points, mesh.cells[0].data, centres, 1e-12)
    assert inside.sum() > 1000
    assert np.all(mask.ravel()[inside]) and not np.any(mask.ravel()[outside])


def test_surface_mask_from_path_equals_mask_from_mesh():
    grid = Grid((40, 40, 24), 0.5e-3)
    np.testing.assert_array_equal(mask_from_surface(STL, grid), mask_from_surface(read_mesh(STL), grid))


def test_surface_with_vertices_on_voxel_centres():
    grid = Grid((8, 8, 8), 1e-3, origin=(-2.5e-3,) * 3)  # centres at integer mm from -2 to 5
    for quads in (False, True):
        mask = mask_from_surface(cube_surface((0, 0, 0), (3e-3, 3e-3, 3e-3), quads=quads), grid)
        X, Y, Z = (np.rint(a * 1e3).astype(int) for a in grid.mesh())  # centres at whole millimetres
        inside = (X > 0) & (X < 3) & (Y > 0) & (Y < 3) & (Z > 0) & (Z < 3)
        outside = (X < 0) | (X > 3) | (Y < 0) | (Y > 3) | (Z < 0) | (Z > 3)
        assert mask[inside].all() and not mask[outside].any()
        # Each axis has 4 centres on the closed interval [0, 3] mm; ties go one way, so 2..4 per axis.
        assert mask.sum() in {a * b * c for a in (2, 3, 4) for b in (2, 3, 4) for c in (2, 3, 4)}


def test_surface_mask_ignores_orientation_and_duplicate_points():
    mesh = sphere_surface(3e-3, (4e-3, 4e-3, 4e-3))
    grid = Grid((30, 30, 30), 0.27e-3)
    reference = mask_from_surface(mesh, grid)
    triangles = mesh.cells[0].data.copy()
    triangles[::2] = triangles[::2, ::-1]
    flipped = meshio.Mesh(mesh.points, [("triangle", triangles)])
    soup = meshio.Mesh(mesh.points[triangles].reshape(-1, 3),
                       [("triangle", np.arange(3 * len(triangles)).reshape(-1, 3))])  # every facet its own points
    np.testing.assert_array_equal(mask_from_surface(flipped, grid), reference)
    np.testing.assert_array_equal(mask_from_surface(soup, grid), reference)


def test_nested_surfaces_make_a_shell():
    outer = sphere_surface(4e-3, (5e-3,) * 3)
    inner = sphere_surface(2e-3, (5e-3,) * 3)
    both = meshio.Mesh(np.vstack([outer.points, inner.points]),
                       [("triangle", np.vstack([outer.cells[0].data, inner.cells[0].data + len(outer.points)]))])
    grid = Grid((20, 20, 20), 0.5e-3)
    shell = mask_from_surface(both, grid)
    np.testing.assert_array_equal(shell, mask_from_surface(outer, grid) & ~mask_from_surface(inner, grid))
    assert not shell[10, 10, 10]


def test_open_surface_is_rejected():
    mesh = sphere_surface(3e-3, (4e-3,) * 3)
    holed = meshio.Mesh(mesh.points, [("triangle", mesh.cells[0].data[1:])])
    with pytest.raises(InputError, match="open surface: 3 of") as info:
        mask_from_surface(holed, Grid((10, 10, 10), 1e-3))
    assert "watertight" in str(info.value)


def test_surface_errors():
    grid = Grid((4, 4, 4), 1e-3)
    points, tets = kuhn_block([0, 1e-3], [0, 1e-3], [0, 1e-3])
    with pytest.raises(InputError, match="labels_from_tetra_mesh"):
        mask_from_surface(meshio.Mesh(points, [("tetra", tets)]), grid)
    with pytest.raises(InputError, match="one of 'm', 'cm', 'mm', 'um'"):
        mask_from_surface(STL, grid, units="inch")
    with pytest.raises(InputError, match="Grid"):
        mask_from_surface(STL, (4, 4, 4))


def test_surface_outside_or_below_resolution_warns():
    with pytest.warns(MeshWarning, match="outside the grid"):
        assert not mask_from_surface(cube_surface((1, 1, 1), (2, 2, 2)), Grid((4, 4, 4), 1e-3)).any()
    with pytest.warns(MeshWarning, match="encloses no voxel centre"):
        mask_from_surface(cube_surface((0.1e-3,) * 3, (0.2e-3,) * 3), Grid((4, 4, 4), 1e-3))


# -- labels_from_surfaces --------------------------------------------------------
def test_surfaces_painted_in_order_onto_base(tmp_path):
    grid = Grid((20, 20, 20), 0.5e-3)
    big = cube_surface((1e-3,) * 3, (9e-3,) * 3)
    small = tmp_path / "small.stl"
    meshio.write(small, cube_surface((3, 3, 3), (5, 5, 5)))  # in mm
    labels = labels_from_surfaces([(1, big), (2, small)], grid, background=9)
    assert labels.dtype == np.int32
    assert np.count_nonzero(labels == 2) == 4**3 and np.count_nonzero(labels == 1) == 16**3 - 4**3
    assert np.count_nonzero(labels == 9) == 20**3 - 16**3
    reversed_order = labels_from_surfaces([(2, small), (1, big)], grid, units="mm")
    assert np.count_nonzero(reversed_order == 2) == 0
    base = np.full(grid.shape, 5, dtype=np.int16)
    painted = labels_from_surfaces([(2, small)], grid, base=base)
    assert np.count_nonzero(painted == 5) == 20**3 - 4**3 and np.all(base == 5)


def test_surfaces_bad_input_reported_together(tmp_path):
    grid = Grid((4, 4, 4), 1e-3)
    with pytest.raises(InputError) as info:
        labels_from_surfaces([(1.5, tmp_path / "missing.stl"), ("x",), (2, 42)], grid,
                             base=np.zeros((3, 3, 3), float))
    paths = [p.path for p in info.value.problems]
    assert paths == ["surfaces[0].label", "surfaces[0].path", "surfaces[1]", "surfaces[2].surface",
                     "base.shape", "base.dtype"]
    assert "missing.stl" in str(info.value)


# -- sample_field ----------------------------------------------------------------
GRID = Grid((5, 4, 3), (1.0e-3, 0.5e-3, 0.25e-3), origin=(-2.0e-3, 1.5e-3, 0.75e-3))


def test_sample_field_nearest_for_integers_and_clamping():
    i, j, k = np.indices(GRID.shape)
    labels = (100 * i + 10 * j + k).astype(np.int32)
    corners = [GRID.centre_of((4, 0, 2)), (GRID.bounds[0][0] - 1.0, 1.6e-3, 0.8e-3)]
    values = sample_field(labels, GRID, np.array(corners))
    assert values.dtype == np.int32 and values.tolist() == [402, 0]
    # A point on a voxel face belongs to the upper voxel (as Grid.index_of).
    face = np.array([[GRID.origin[0] + 1.0e-3, GRID.centre_of((0, 1, 1))[1], GRID.centre_of((0, 1, 1))[2]]])
    assert sample_field(labels, GRID, face).tolist() == [111]


def test_sample_field_linear_between_centres_and_clamped_outside():
    field = np.zeros(GRID.shape)
    field[1, 2, 1] = 8.0
    mid = (np.array(GRID.centre_of((1, 2, 1))) + np.array(GRID.centre_of((2, 3, 2)))) / 2
    assert sample_field(field, GRID, mid[None])[0] == pytest.approx(1.0)  # one of 8 equal weights
    field[3, 1, 0] = 4.0
    below = np.array(GRID.centre_of((3, 1, 0))) - [0, 0, 0.1e-3]  # between the skin face and the first centre
    assert sample_field(field, GRID, below[None])[0] == pytest.approx(4.0)
    far = np.array([[1.0, 1.0, 1.0]])
    field[-1, -1, -1] = 3.0
    assert sample_field(field, GRID, far)[0] == 3.0


def test_sample_field_skips_nan_voxels_and_single_voxel_axes():
    field = np.ones(GRID.shape)
    field[0] = np.nan
    mid = (np.array(GRID.centre_of((0, 1, 1))) + np.array(GRID.centre_of((1, 1, 1)))) / 2
    assert sample_field(field, GRID, mid[None])[0] == 1.0
    assert np.isnan(sample_field(field, GRID, np.array([GRID.centre_of((0, 1, 1))]))[0])
    flat = Grid((3, 1, 2), 1e-3)
    values = np.arange(6.0).reshape(3, 1, 2)
    assert sample_field(values, flat, np.array([[1.5e-3, 0.9e-3, 1.0e-3]]))[0] == pytest.approx(2.5)


def test_sample_field_errors():
    with pytest.raises(InputError) as info:
        sample_field(np.zeros((2, 2, 2)), GRID, np.zeros((4, 2)), method="cubic")
    assert [p.path for p in info.value.problems] == ["field.shape", "points.shape", "method"]


# -- write_fields_to_mesh --------------------------------------------------------
def result_fields(grid):
    X, Y, Z = grid.mesh()
    temperature = 37.0 + 1e3 * X + 2e3 * Y - 3e3 * Z
    labels = (Z > 3e-3).astype(np.int32) + 1
    return {"temperature_degC": temperature.astype(np.float32), "labels": labels, "necrosis": temperature > 50}, \
        {"temperature_degC": "degC", "labels": "1", "necrosis": "1"}


def test_round_trip_vtu(tmp_path):
    grid = Grid((40, 40, 24), 0.5e-3)
    fields, units = result_fields(grid)
    mesh = read_mesh(VTU)
    path = write_fields_to_mesh(fields, units, grid, mesh, tmp_path / "out" / "result.vtu")
    assert path == tmp_path / "out" / "result.vtu"
    assert [p.name for p in path.parent.iterdir()] == ["result.vtu"]  # no temporary left behind
    back = meshio.read(path)
    np.testing.assert_allclose(back.points, mesh.points)  # metres by default
    np.testing.assert_array_equal(back.cell_data["tag"][0], mesh.cell_data["tag"][0])
    centroids = mesh.points[mesh.cells[0].data].mean(axis=1)
    for name, array in fields.items():
        expected_points = sample_field(array, grid, mesh.points)
        expected_cells = sample_field(array, grid, centroids)
        np.testing.assert_allclose(back.point_data[name], expected_points, rtol=1e-6)
        np.testing.assert_allclose(back.cell_data[name][0], expected_cells, rtol=1e-6)
    assert back.point_data["temperature_degC"].dtype == np.float32
    assert back.point_data["labels"].dtype == np.int32
    assert back.point_data["necrosis"].dtype == np.uint8
    text = path.read_text(errors="replace")
    assert "<!-- phototherm" in text and "temperature_degC=degC; labels=1; necrosis=1; points in m" in text


def test_round_trip_legacy_vtk_from_path_in_millimetres(tmp_path):
    grid = Grid((40, 40, 24), 0.5e-3)
    fields, units = result_fields(grid)
    path = write_fields_to_mesh({"labels": fields["labels"]}, {"labels": "1"}, grid, STL, tmp_path / "t.vtk",
                                mesh_units="mm", point_units="mm")
    back = meshio.read(path)
    np.testing.assert_allclose(back.points, meshio.read(STL).points, rtol=1e-6)  # written in mm
    assert path.read_bytes().split(b"\n")[1].startswith(b"phototherm ")
    assert b"labels=1; points in mm" in path.read_bytes().split(b"\n")[1]
    np.testing.assert_array_equal(back.cell_data["labels"][0], 1 + (read_mesh(STL).points[
        meshio.read(STL).cells[0].data].mean(axis=1)[:, 2] > 3e-3))


def test_xdmf_needs_h5py_or_round_trips(tmp_path):
    grid = Grid((4, 4, 4), 5e-3)
    fields = {"dose_min": np.ones(grid.shape)}
    if importlib.util.find_spec("h5py") is None:
        with pytest.raises(ImportError, match="h5py"):
            write_fields_to_mesh(fields, {"dose_min": "min"}, grid, STL, tmp_path / "r.xdmf")
        assert list(tmp_path.iterdir()) == []
    else:
        path = write_fields_to_mesh(fields, {"dose_min": "min"}, grid, STL, tmp_path / "r.xdmf")
        assert np.all(meshio.read(path).point_data["dose_min"] == 1.0)


def test_write_fields_bad_input(tmp_path):
    grid = Grid((4, 4, 4), 5e-3)
    with pytest.raises(InputError) as info:
        write_fields_to_mesh({"a b": np.zeros((3, 3, 3)), "t": np.zeros(grid.shape, dtype=object)},
                             {"t": "degC", "extra": "s"}, grid, STL, tmp_path / "x.vtk", point_units="inch")
    paths = [p.path for p in info.value.problems]
    assert paths == ["point_units", "fields", "fields['a b'].shape", "units['a b']", "fields['t'].dtype",
                     "units"]
    with pytest.raises(InputError, match="extension"):
        write_fields_to_mesh({"t": np.zeros(grid.shape)}, {"t": "degC"}, grid, STL, tmp_path / "x.png")
    with pytest.raises(InputError, match="at least one field"):
        write_fields_to_mesh({}, {}, grid, STL, tmp_path / "x.vtu")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_nothing_behind(tmp_path):
    grid = Grid((40, 40, 24), 0.5e-3)
    with pytest.raises(InputError, match="meshio can write"):  # Wavefront .obj cannot hold tetrahedra
        write_fields_to_mesh({"t": np.zeros(grid.shape)}, {"t": "degC"}, grid, VTU, tmp_path / "x.obj")
    assert list(tmp_path.iterdir()) == []


def test_write_fields_warns_for_points_outside_grid(tmp_path):
    grid = Grid((4, 4, 4), 1e-3)
    with pytest.warns(MeshWarning, match="outside the grid"):
        write_fields_to_mesh({"t": np.zeros(grid.shape)}, {"t": "degC"}, grid, STL, tmp_path / "x.vtu")


# -- example meshes --------------------------------------------------------------
def test_example_meshes_are_reproduced_by_their_script(tmp_path):
    made = GEN.make(tmp_path)
    for path in made:
        committed = MESHES / path.name
        assert committed.stat().st_size < 1_000_000
        a, b = meshio.read(committed), meshio.read(path)
        np.testing.assert_array_equal(a.points, b.points)
        for block_a, block_b in zip(a.cells, b.cells):
            assert block_a.type == block_b.type
            np.testing.assert_array_equal(block_a.data, block_b.data)
        for name in a.cell_data:
            np.testing.assert_array_equal(a.cell_data[name][0], b.cell_data[name][0])


def test_example_block_tags_and_positive_tetrahedra():
    mesh = meshio.read(VTU)
    p, t, tags = mesh.points, mesh.cells[0].data, mesh.cell_data["tag"][0]
    a, b, c, d = (p[t[:, n]] for n in range(4))
    volume = np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) / 6
    assert np.all(volume > 0)
    assert volume.sum() == pytest.approx(20 * 20 * 12, rel=1e-12)  # mm^3: the block is filled
    assert set(np.unique(tags)) == {1, 2, 3, 4}
    centroid = p[t].mean(axis=1)
    assert np.all((centroid[:, 2] < 0.4) == (tags == 1))
    inside = np.sum(((centroid - [10, 10, 3.4]) / [4, 4, 3]) ** 2, axis=1) <= 1
    assert np.all(inside == (tags == 4))
