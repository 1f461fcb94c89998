//! Arrow schema and Parquet encoding of [`Record`]s. Rows cross into Arrow through arrow's serde bridge
//! (`arrow::json::ReaderBuilder::build_decoder` + `serialize`, and `arrow::json::ArrayWriter` back), so
//! the nested columns need no hand-written builders.

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::{DatasetError, Record};

fn list(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// `list<struct<name: string, dtype: string, shape: list<int32>, values: list<double>>>`.
fn tensor_list() -> DataType {
    list(DataType::Struct(Fields::from(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("dtype", DataType::Utf8, false),
        Field::new("shape", list(DataType::Int32), false),
        Field::new("values", list(DataType::Float64), false),
    ])))
}

/// The Arrow schema of a shard: DESIGN.md's columns in order, then the verification columns.
pub fn schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        s("id"),
        s("name"),
        s("category"),
        Field::new("seed", DataType::UInt64, false),
        s("python"),
        s("cpu_forward"),
        s("cpu_backward"),
        s("cuda_forward"),
        s("cuda_backward"),
        s("cpu_module"),
        s("cuda_module"),
        s("warp_version"),
        Field::new("features", list(DataType::Utf8), false),
        s("split"),
        s("cluster"),
        Field::new("launch_dim", list(DataType::Int32), false),
        Field::new("test_inputs", tensor_list(), false),
        Field::new("test_outputs", tensor_list(), false),
        Field::new("grad_outputs", tensor_list(), false),
        Field::new("grad_inputs", tensor_list(), false),
        Field::new(
            "checks",
            DataType::Struct(Fields::from(vec![
                s("forward"),
                Field::new("deterministic", DataType::Boolean, false),
                s("gradient"),
                Field::new("gradient_max_rel_error", DataType::Float64, false),
                Field::new("gradient_compared", DataType::UInt32, false),
                Field::new("gradient_informative", DataType::UInt32, false),
                Field::new("gradient_unstable", DataType::UInt32, false),
                s("ptx"),
                s("cuda_forward"),
                s("cuda_backward"),
                s("standalone_compile"),
                s("standalone_equivalence"),
            ])),
            false,
        ),
        s("ptx"),
        s("cuda_standalone"),
    ]))
}

fn perr(path: &Path) -> impl Fn(String) -> DatasetError + '_ {
    move |message| DatasetError::Parquet { path: path.to_path_buf(), message }
}

/// Encodes `rows` as one Parquet file (zstd level 3, one row group); `path` is only for error messages.
pub(crate) fn to_parquet(rows: &[&Record], path: &Path) -> Result<Vec<u8>, DatasetError> {
    let err = perr(path);
    let schema = schema();
    let batch = to_batch(rows, path)?;
    let zstd = ZstdLevel::try_new(3).map_err(|e| err(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(zstd))
        .set_max_row_group_row_count(Some(rows.len().max(1)))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema, Some(props)).map_err(|e| err(e.to_string()))?;
    w.write(&batch).map_err(|e| err(e.to_string()))?;
    w.close().map_err(|e| err(e.to_string()))?;
    Ok(buf)
}

/// Rows per row group of a [`ShardWriter`]'s file.
pub const ROW_GROUP_ROWS: usize = 1024;
/// Rows converted to Arrow at once by [`ShardWriter::write`]: a row is ~230 KB of text, so this bounds the
/// conversion's memory to ~15 MB.
const CONVERT_ROWS: usize = 64;

/// A Parquet file written a few records at a time: rows are converted to Arrow [`CONVERT_ROWS`] at a time and
/// encoded into row groups of [`ROW_GROUP_ROWS`] rows, so memory holds one row group's encoded (compressed)
/// pages, not the file's records. Same properties as [`to_parquet`] (zstd level 3, no timestamps), and the
/// bytes depend only on the sequence of rows written.
pub struct ShardWriter {
    path: std::path::PathBuf,
    writer: ArrowWriter<std::fs::File>,
    rows: usize,
}

impl ShardWriter {
    /// Creates (truncates) `path`.
    ///
    /// # Errors
    /// [`DatasetError`] naming the file.
    pub fn create(path: &Path) -> Result<ShardWriter, DatasetError> {
        let err = perr(path);
        let file = std::fs::File::create(path).map_err(crate::io_err("create", path))?;
        let zstd = ZstdLevel::try_new(3).map_err(|e| err(e.to_string()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(zstd))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, schema(), Some(props)).map_err(|e| err(e.to_string()))?;
        Ok(ShardWriter { path: path.to_path_buf(), writer, rows: 0 })
    }

    /// Appends `rows`.
    ///
    /// # Errors
    /// [`DatasetError`] naming the file.
    pub fn write(&mut self, rows: &[&Record]) -> Result<(), DatasetError> {
        let err = perr(&self.path);
        for chunk in rows.chunks(CONVERT_ROWS) {
            let batch = to_batch(chunk, &self.path)?;
            self.writer.write(&batch).map_err(|e| err(e.to_string()))?;
            self.rows += chunk.len();
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Writes the last row group and the footer and syncs the file to disk; returns the rows written.
    ///
    /// # Errors
    /// [`DatasetError`] naming the file.
    pub fn close(self) -> Result<usize, DatasetError> {
        let err = perr(&self.path);
        let file = self.writer.into_inner().map_err(|e| err(e.to_string()))?;
        file.sync_all().map_err(crate::io_err("sync", &self.path))?;
        Ok(self.rows)
    }
}

fn to_batch(rows: &[&Record], path: &Path) -> Result<RecordBatch, DatasetError> {
    let err = perr(path);
    let mut decoder = arrow::json::ReaderBuilder::new(schema())
        .with_batch_size(rows.len().max(1))
        .build_decoder()
        .map_err(|e| err(e.to_string()))?;
    decoder.serialize(rows).map_err(|e| err(e.to_string()))?;
    decoder.flush().map_err(|e| err(e.to_string()))?.ok_or_else(|| err("no rows to write".into()))
}

/// Reads every record of one Parquet shard.
///
/// # Errors
/// [`DatasetError`] if the file cannot be opened, is not Parquet, or does not match the schema.
pub fn read_records(path: &Path) -> Result<Vec<Record>, DatasetError> {
    let mut out = Vec::new();
    for_each_record(path, &mut |r| out.push(r))?;
    Ok(out)
}

/// Calls `f` with each record of one Parquet shard in order, holding 256 rows at a time; returns the rows read.
///
/// # Errors
/// [`DatasetError`] if the file cannot be opened, is not Parquet, or does not match the schema (records before
/// the bad batch have been passed to `f`).
pub fn for_each_record(path: &Path, f: &mut dyn FnMut(Record)) -> Result<usize, DatasetError> {
    let err = perr(path);
    let file = std::fs::File::open(path).map_err(crate::io_err("open", path))?;
    // batches of 256 rows keep the JSON bridge's buffer small (a row with both modules is ~100 KB)
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| err(e.to_string()))?
        .with_batch_size(256)
        .build()
        .map_err(|e| err(e.to_string()))?;
    let mut n = 0;
    for batch in reader {
        let batch = batch.map_err(|e| err(e.to_string()))?;
        let mut w = arrow::json::ArrayWriter::new(Vec::new());
        w.write(&batch).map_err(|e| err(e.to_string()))?;
        w.finish().map_err(|e| err(e.to_string()))?;
        let rows: Vec<Record> = serde_json::from_slice(&w.into_inner()).map_err(|e| err(e.to_string()))?;
        n += rows.len();
        rows.into_iter().for_each(&mut *f);
        crate::release_free_memory();
    }
    Ok(n)
}

/// The Arrow schema stored in a Parquet file's footer.
///
/// # Errors
/// [`DatasetError`] if the file cannot be opened or is not Parquet (a truncated file has no footer).
pub fn read_schema(path: &Path) -> Result<SchemaRef, DatasetError> {
    let err = perr(path);
    let file = std::fs::File::open(path).map_err(crate::io_err("open", path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(e.to_string()))?;
    Ok(Arc::clone(builder.schema()))
}

/// Equal types, where a list's item field may have any name: Parquet writers differ (`item` from arrow-rs,
/// `element` from pyarrow, the Parquet spec's name) and readers ignore it.
fn same_type(a: &DataType, b: &DataType) -> bool {
    match (a, b) {
        (DataType::List(x), DataType::List(y)) => {
            x.is_nullable() == y.is_nullable() && same_type(x.data_type(), y.data_type())
        }
        (DataType::Struct(x), DataType::Struct(y)) => {
            x.len() == y.len()
                && x.iter().zip(y.iter()).all(|(p, q)| {
                    p.name() == q.name()
                        && p.is_nullable() == q.is_nullable()
                        && same_type(p.data_type(), q.data_type())
                })
        }
        _ => a == b,
    }
}

/// How `found` differs from [`schema`]: one line per missing, extra, retyped or nullable column.
pub fn schema_differences(found: &Schema) -> Vec<String> {
    let want = schema();
    let mut out = Vec::new();
    for w in want.fields() {
        match found.field_with_name(w.name()) {
            Err(_) => out.push(format!("column {} is missing", w.name())),
            Ok(f) if !same_type(f.data_type(), w.data_type()) => {
                out.push(format!("column {} is {}, expected {}", w.name(), f.data_type(), w.data_type()))
            }
            Ok(f) if f.is_nullable() != w.is_nullable() => out.push(format!(
                "column {} nullability is {}, expected {}",
                w.name(),
                f.is_nullable(),
                w.is_nullable()
            )),
            Ok(_) => {}
        }
    }
    for f in found.fields() {
        if want.field_with_name(f.name()).is_err() {
            out.push(format!("column {} is not in the schema", f.name()));
        }
    }
    let order: Vec<&String> = found.fields().iter().map(|f| f.name()).collect();
    let want_order: Vec<&String> = want.fields().iter().map(|f| f.name()).collect();
    if out.is_empty() && order != want_order {
        out.push("columns are out of order".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_item_names_do_not_matter_but_item_types_do() {
        let item = |name: &str, t: DataType| DataType::List(Arc::new(Field::new(name, t, true)));
        assert!(same_type(&item("item", DataType::Utf8), &item("element", DataType::Utf8)));
        assert!(!same_type(&item("item", DataType::Utf8), &item("item", DataType::Int32)));
        let mut fields: Vec<Field> = schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        assert!(schema_differences(&Schema::new(fields.clone())).is_empty());
        fields[3] = Field::new("seed", DataType::Int64, false);
        fields.pop();
        assert_eq!(
            schema_differences(&Schema::new(fields)),
            ["column seed is Int64, expected UInt64", "column cuda_standalone is missing"]
        );
    }
}
